""" "This wasn't me" links: a secret a database dump does not reveal, that works without
a session (the person may have lost theirs), for 30 days, once.

The link names an audit event and an expiry, signed with the keyring's pepper:

    /accounts/wasnt-me/<event id>.<expires, unix seconds>.<HMAC(user id, event id, expires)>

The numbers are written in base 36 and the MAC in base64url, so no run of 8 digits in a
message ever looks like a security code. Nothing about a link is stored until it is
used; then the digest of its MAC is stored, so the same link cannot be used again.
"""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.audit.models import AuditEvent
from mamori.core.crypto import Keyring, same_secret

LIFETIME = timedelta(days=30)
PATH = "/accounts/wasnt-me"
_TOKEN = re.compile(r"([0-9a-z]{1,12})\.([0-9a-z]{1,8})\.([A-Za-z0-9_-]{43})")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@dataclass(frozen=True)
class LinkClaim:
    """What a well-formed link says; nothing in it is trusted before `verified_user`."""

    event_id: int
    expires: int
    mac: str


def sign(keyring: Keyring, user_id: int, event_id: int, expires: int) -> str:
    digest = keyring.keyed_digest("wasnt-me", str(user_id), str(event_id), str(expires))
    return base64.urlsafe_b64encode(bytes.fromhex(digest)).decode().rstrip("=")


def base36(number: int) -> str:
    text = ""
    while True:
        number, digit = divmod(number, 36)
        text = _DIGITS[digit] + text
        if number == 0:
            return text


def wasnt_me_token(keyring: Keyring, user_id: int, event_id: int, now: datetime) -> str:
    expires = int((now + LIFETIME).timestamp())
    return f"{base36(event_id)}.{base36(expires)}.{sign(keyring, user_id, event_id, expires)}"


def latest_event_id(db: Session, user_id: int) -> int:
    """The account's newest audit event: the one an alert being sent right now is about."""
    found = db.scalar(select(func.max(AuditEvent.id)).where(AuditEvent.user_id == user_id))
    return int(found or 0)


def wasnt_me_url(db: Session, keyring: Keyring, base_url: str, user_id: int, now: datetime) -> str:
    token = wasnt_me_token(keyring, user_id, latest_event_id(db, user_id), now)
    return f"{base_url.rstrip('/')}{PATH}/{token}"


def parse_token(token: str) -> LinkClaim | None:
    match = _TOKEN.fullmatch(token)
    if match is None:
        return None
    return LinkClaim(int(match.group(1), 36), int(match.group(2), 36), match.group(3))


def is_genuine(keyring: Keyring, claim: LinkClaim, user_id: int) -> bool:
    return same_secret(sign(keyring, user_id, claim.event_id, claim.expires), claim.mac)


def has_expired(claim: LinkClaim, now: datetime) -> bool:
    return now >= datetime.fromtimestamp(claim.expires, UTC)
