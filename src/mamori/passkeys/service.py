"""Passkeys: adding one (after "Confirm it's you"), the list, renaming and removing, and
proving one at a login, a second step or "Confirm it's you". The ceremonies themselves are
py_webauthn's (ceremony.py); the rules, audit events and alerts are here."""

from __future__ import annotations

import re
import secrets
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.i18n import translator
from mamori.notifications.messages import Alert
from mamori.notifications.service import alert_user
from mamori.passkeys import ceremony
from mamori.passkeys.challenges import Purpose, new_challenge, use_challenge
from mamori.passkeys.errors import (
    InvalidPasskeyName,
    PasskeyNotAccepted,
    PasskeyNotFound,
    TooManyPasskeys,
)
from mamori.passkeys.messages import (
    PASSKEY_ADDED,
    PASSKEY_CLONED,
    PASSKEY_REMOVED,
    PASSKEY_RENAMED,
)
from mamori.passkeys.models import Passkey, PasskeyUserHandle
from mamori.sessions.devices import describe_device

MAX_PASSKEYS = 10
HANDLE_BYTES = 64
NAME_LENGTH = 64
# Where the AAGUID names the passkey provider (synced passkeys say nothing else useful).
PROVIDERS = {
    "ea9b8d66-4d01-1d21-3ce4-b6b48cb575d4": "Google Password Manager",
    "fbfc3007-154e-4ecc-8c0b-6e020557d7bd": "iCloud Keychain",
    "bada5566-a7aa-401f-bd96-45619a55120d": "1Password",
    "d548826e-79b4-db40-a3d8-11116f7e8349": "Bitwarden",
    "08987058-cadc-4b81-b6e1-30de50dcbe96": "Windows Hello",
    "9ddd1817-af5a-4672-a2b9-3e3dd95000a9": "Windows Hello",
    "6028b017-b1d4-4c02-b4b3-afcdafc96bb2": "Windows Hello",
}


# --- the person's passkeys ---------------------------------------------------------------


def passkeys_of(db: Session, user_id: int) -> list[Passkey]:
    """Oldest first, as they were added."""
    query = select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id)
    return list(db.scalars(query))


def passkey_count(db: Session, user_id: int) -> int:
    return db.scalar(select(func.count()).where(Passkey.user_id == user_id)) or 0


def has_passkeys(db: Session, user_id: int) -> bool:
    return passkey_count(db, user_id) > 0


def user_handle(db: Session, user_id: int) -> bytes:
    """The account's WebAuthn user handle: 64 random bytes, made at its first passkey."""
    row = db.get(PasskeyUserHandle, user_id)
    if row is None:
        row = PasskeyUserHandle(
            user_id=user_id, handle=bytes_to_base64url(secrets.token_bytes(HANDLE_BYTES))
        )
        db.add(row)
        db.flush()
    return base64url_to_bytes(row.handle)


# --- adding one ---------------------------------------------------------------------------


def session_binding(session_id: int) -> str:
    return f"session:{session_id}"


def registration_options(db: Session, ctx: Context, user: User, session_id: int) -> str:
    """The JSON for navigator.credentials.create(), bound to this session for 5 minutes.
    The caller checks "Confirm it's you"."""
    existing = passkeys_of(db, user.id)
    if len(existing) >= MAX_PASSKEYS:
        raise TooManyPasskeys()
    challenge = new_challenge(db, ctx, Purpose.REGISTER, session_binding(session_id))
    return ceremony.creation_options(
        ctx.settings,
        challenge=challenge,
        handle=user_handle(db, user.id),
        username=user.username,
        existing=existing,
    )


def add_passkey(
    db: Session, ctx: Context, origin: Origin, user: User, session_id: int, credential_json: str
) -> Passkey:
    """The browser's new credential, checked against the challenge this session was
    given. The owner is told."""
    credential, challenge = ceremony.parse_registration(credential_json)
    use_challenge(db, ctx, challenge, Purpose.REGISTER, session_binding(session_id))
    new = ceremony.check_registration(ctx.settings, credential, challenge)
    # Each account's passkeys are added one at a time (its handle row is the lock), so
    # two additions at once cannot pass the limit together.
    db.scalar(
        select(PasskeyUserHandle).where(PasskeyUserHandle.user_id == user.id).with_for_update()
    )
    if passkey_count(db, user.id) >= MAX_PASSKEYS:
        raise TooManyPasskeys()
    if db.scalar(select(Passkey.id).where(Passkey.credential_key == new.credential_key)):
        raise PasskeyNotAccepted()  # already on an account
    passkey = Passkey(
        public_id=secrets.token_hex(16),
        user_id=user.id,
        credential_key=new.credential_key,
        credential_id=new.credential_id,
        public_key=new.public_key,
        sign_count=new.sign_count,
        name=default_name(new.aaguid, origin, user.locale),
        aaguid=new.aaguid,
        transports=new.transports,
        backed_up=new.backed_up,
        created_at=ctx.clock.now(),
    )
    db.add(passkey)
    db.flush()
    record_event(
        db,
        ctx.clock,
        "passkey.added",
        origin,
        user_id=user.id,
        passkey=passkey.public_id,
        name=passkey.name,
        synced=passkey.backed_up,
    )
    _tell(db, ctx, user, PASSKEY_ADDED, name=passkey.name)
    return passkey


def default_name(aaguid: str, origin: Origin, locale: str | None) -> str:
    """The passkey provider where the AAGUID names one, else the device it was made on,
    in the owner's language ("Chrome on Android")."""
    if aaguid in PROVIDERS:
        return PROVIDERS[aaguid]
    _ = translator(locale or "en")
    return describe_device(origin.user_agent, _)[:NAME_LENGTH]


# --- renaming and removing ----------------------------------------------------------------


def find_passkey(db: Session, user_id: int, public_id: str) -> Passkey:
    """One of this person's passkeys; another account's is as unknown as a made-up id."""
    passkey = db.scalar(
        select(Passkey).where(Passkey.public_id == public_id, Passkey.user_id == user_id)
    )
    if passkey is None:
        raise PasskeyNotFound()
    return passkey


def clean_name(typed: str) -> str:
    name = unicodedata.normalize("NFKC", typed)
    name = "".join(c for c in name if unicodedata.category(c)[0] != "C")
    name = re.sub(r"\s+", " ", name).strip()
    if not name or len(name) > NAME_LENGTH:
        raise InvalidPasskeyName()
    return name


def rename_passkey(
    db: Session, ctx: Context, origin: Origin, user: User, public_id: str, typed: str
) -> Passkey:
    passkey = find_passkey(db, user.id, public_id)
    name, old = clean_name(typed), passkey.name
    if name == old:
        return passkey
    passkey.name = name
    record_event(
        db, ctx.clock, "passkey.renamed", origin, user_id=user.id, passkey=public_id, name=name
    )
    _tell(db, ctx, user, PASSKEY_RENAMED, name=name, old=old)
    return passkey


# Checks run before the last passkey goes, by features above this one (two-factor keeps
# a passkey that is its only method): each raises a named error to refuse.
BEFORE_REMOVING_THE_LAST: list[Callable[[Session, int], None]] = []


def remove_passkey(db: Session, ctx: Context, origin: Origin, user: User, public_id: str) -> None:
    """The caller checks "Confirm it's you"."""
    passkey = find_passkey(db, user.id, public_id)
    if passkey_count(db, user.id) == 1:
        for check in BEFORE_REMOVING_THE_LAST:
            check(db, user.id)
    db.delete(passkey)
    db.flush()
    record_event(
        db,
        ctx.clock,
        "passkey.removed",
        origin,
        user_id=user.id,
        passkey=public_id,
        name=passkey.name,
    )
    _tell(db, ctx, user, PASSKEY_REMOVED, name=passkey.name)


def remove_passkeys_since(db: Session, user_id: int, since: datetime, named: str | None) -> int:
    """ "This wasn't me": the passkey the disowned event names, and every one added since
    it, go; whoever did it could otherwise log in with no password at all."""
    gone = [
        passkey
        for passkey in passkeys_of(db, user_id)
        if passkey.created_at >= since or passkey.public_id == named
    ]
    for passkey in gone:
        db.delete(passkey)
    db.flush()
    return len(gone)


# --- proving one ----------------------------------------------------------------------------


def login_options(db: Session, ctx: Context, binding: str) -> str:
    """For a passkey alone: user verification required, and no list of credentials, so
    the options are the same for everyone."""
    challenge = new_challenge(db, ctx, Purpose.LOG_IN, binding)
    return ceremony.request_options(
        ctx.settings, challenge=challenge, allowed=[], user_verification=True
    )


def second_factor_options(
    db: Session, ctx: Context, user: User, binding: str, *, name_them: bool = True
) -> str:
    """After the password (or inside a session): user verification preferred, and this
    person's passkeys named (`name_them`) so a security key without a discoverable
    credential list still answers."""
    challenge = new_challenge(db, ctx, Purpose.SECOND_FACTOR, binding)
    return ceremony.request_options(
        ctx.settings,
        challenge=challenge,
        allowed=passkeys_of(db, user.id) if name_them else [],
        user_verification=False,
    )


@dataclass(frozen=True)
class UsedPasskey:
    user: User
    passkey: Passkey


def prove_passkey(
    db: Session,
    ctx: Context,
    origin: Origin,
    credential_json: str,
    *,
    purpose: Purpose,
    binding: str,
    user: User | None = None,
) -> UsedPasskey:
    """The passkey that signed this challenge, and its person. `user` None: a passkey
    alone (user verification required, any account); else one of that person's.

    Raises PasskeyRequestExpired (unknown, used or expired challenge) or
    PasskeyNotAccepted: an unknown passkey, another person's, a wrong signature, origin or
    relying party, no user verification where it is required, or a counter that went
    back (then also audited, and the owner told)."""
    credential, challenge = ceremony.parse_assertion(credential_json)
    use_challenge(db, ctx, challenge, purpose, binding)
    passkey = db.scalar(
        select(Passkey).where(Passkey.credential_key == ceremony.credential_key(credential.raw_id))
    )
    owner = get_user(db, passkey.user_id) if passkey is not None else None
    if (
        passkey is None
        or owner is None
        or owner.disabled_at is not None
        or (user is not None and owner.id != user.id)
    ):
        ceremony.check_against_decoy(ctx.settings, credential, challenge)
        raise PasskeyNotAccepted()
    try:
        asserted = ceremony.check_assertion(
            ctx.settings,
            credential,
            challenge,
            public_key=passkey.public_key,
            sign_count=passkey.sign_count,
            user_verification=user is None,
        )
    except ceremony.SignCountWentBack:
        _sign_count_went_back(db, ctx, origin, owner, passkey)
        raise PasskeyNotAccepted() from None
    _mark_used(db, ctx, passkey, asserted)
    return UsedPasskey(owner, passkey)


def _mark_used(db: Session, ctx: Context, passkey: Passkey, asserted: ceremony.Assertion) -> None:
    """The new counter, only forwards: of two uses at once the higher count stays."""
    now = ctx.clock.now()
    db.execute(
        update(Passkey)
        .where(Passkey.id == passkey.id)
        .values(
            sign_count=func.max(Passkey.sign_count, asserted.sign_count)
            if db.get_bind().dialect.name == "sqlite"
            else func.greatest(Passkey.sign_count, asserted.sign_count),
            backed_up=asserted.backed_up,
            last_used_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    db.refresh(passkey)


def _sign_count_went_back(
    db: Session, ctx: Context, origin: Origin, owner: User, passkey: Passkey
) -> None:
    record_event(
        db,
        ctx.clock,
        "passkey.sign_count_backwards",
        origin,
        user_id=owner.id,
        outcome="failure",
        passkey=passkey.public_id,
        name=passkey.name,
        stored_count=passkey.sign_count,
    )
    _tell(db, ctx, owner, PASSKEY_CLONED, name=passkey.name)


def _tell(db: Session, ctx: Context, user: User, alert: Alert, **values: object) -> None:
    alert_user(db, ctx, user, alert.subject, alert.body, username=user.username, **values)


def last_used(db: Session, user_id: int) -> datetime | None:
    return db.scalar(select(func.max(Passkey.last_used_at)).where(Passkey.user_id == user_id))


def claimed_owner(db: Session, credential_json: str) -> tuple[str, User | None]:
    """The credential's key, and whose passkey it says it is (nothing checked yet): for
    the login's throttles."""
    credential, _ = ceremony.parse_assertion(credential_json)
    key = ceremony.credential_key(credential.raw_id)
    user_id = db.scalar(select(Passkey.user_id).where(Passkey.credential_key == key))
    return key, get_user(db, user_id) if user_id is not None else None
