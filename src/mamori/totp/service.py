"""Authenticator apps (TOTP, RFC 6238): enroll, confirm, verify once per time step."""

from __future__ import annotations

import base64
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
import segno
from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.core.errors import CodeAlreadyUsed, InvalidCode
from mamori.totp.errors import ClockOutOfSync, NoPendingAuthenticator
from mamori.totp.models import Authenticator

STEP_SECONDS = 30
DIGITS = 6
ACCEPTED_DRIFT = 1  # ±1 step (NIST SP 800-63B, ASVS 6.5.8)
# A match this far off means the phone's clock is wrong, not the code. At login and
# "Confirm it's you" only steps already gone are looked at: naming a coming step would
# tell a guesser a code that will work in a few minutes (issue 16).
DRIFT_HINT = 10
ISSUER = "mamori"
# How long the set-up page keeps showing one QR code: a mistyped code, a reload or the
# language switch must not change the key a person may already have scanned.
PENDING_LIFETIME = timedelta(hours=1)


@dataclass(frozen=True)
class Enrollment:
    secret: str
    otpauth_uri: str
    qr_svg: str


def _seal_context(user_id: int) -> str:
    return f"totp:{user_id}"


def new_secret() -> str:
    """160 bits from the CSPRNG, base32 as every app expects."""
    return base64.b32encode(secrets.token_bytes(20)).decode()


def start_enrollment(db: Session, ctx: Context, user_id: int, account_name: str) -> Enrollment:
    """A new pending app; any earlier unfinished enrollment is discarded."""
    db.execute(
        delete(Authenticator).where(
            Authenticator.user_id == user_id, Authenticator.confirmed_at.is_(None)
        )
    )
    secret = new_secret()
    db.add(
        Authenticator(
            user_id=user_id,
            sealed_secret=ctx.keyring.seal(secret, _seal_context(user_id)),
            created_at=ctx.clock.now(),
        )
    )
    return _enrollment(secret, account_name)


def current_enrollment(db: Session, ctx: Context, user_id: int, account_name: str) -> Enrollment:
    """The pending app still waiting for its first code, or a new one when there is none
    or it is older than PENDING_LIFETIME."""
    pending = _pending(db, user_id)
    if pending is None or pending.created_at <= ctx.clock.now() - PENDING_LIFETIME:
        return start_enrollment(db, ctx, user_id, account_name)
    secret = ctx.keyring.unseal(pending.sealed_secret, _seal_context(user_id))
    return _enrollment(secret, account_name)


def _enrollment(secret: str, account_name: str) -> Enrollment:
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECONDS).provisioning_uri(
        name=account_name, issuer_name=ISSUER
    )
    return Enrollment(secret=secret, otpauth_uri=uri, qr_svg=qr_svg(uri))


def _pending(db: Session, user_id: int) -> Authenticator | None:
    return db.scalar(
        select(Authenticator)
        .where(Authenticator.user_id == user_id, Authenticator.confirmed_at.is_(None))
        .order_by(Authenticator.id.desc())
    )


def qr_svg(uri: str) -> str:
    return str(segno.make(uri, error="m").svg_inline(scale=4, dark="#000", light="#fff"))


def confirm_enrollment(db: Session, ctx: Context, user_id: int, typed: str) -> None:
    """The app's current code proves the secret was copied; it replaces any older app."""
    pending = _pending(db, user_id)
    if pending is None:
        raise NoPendingAuthenticator()
    # The one who set up the app holds its secret: a hint either way gives nothing away.
    _accept_code(db, ctx, pending, typed, hint_ahead=True)
    db.execute(
        delete(Authenticator).where(
            Authenticator.user_id == user_id,
            Authenticator.id != pending.id,
        )
    )
    pending.confirmed_at = ctx.clock.now()


def has_authenticator(db: Session, user_id: int) -> bool:
    return confirmed_authenticator(db, user_id) is not None


def confirmed_authenticator(db: Session, user_id: int) -> Authenticator | None:
    return db.scalar(
        select(Authenticator).where(
            Authenticator.user_id == user_id, Authenticator.confirmed_at.is_not(None)
        )
    )


def verify_totp(db: Session, ctx: Context, user_id: int, typed: str) -> None:
    """A login or reauthentication code. Raises InvalidCode, ClockOutOfSync (a code of a
    step gone by: the phone's clock is behind) or CodeAlreadyUsed (a replayed step: the
    caller audits it and tells the owner). A code of a coming step is an InvalidCode."""
    authenticator = confirmed_authenticator(db, user_id)
    if authenticator is None:
        raise InvalidCode()
    _accept_code(db, ctx, authenticator, typed, hint_ahead=False)


def remove_authenticator(db: Session, user_id: int) -> bool:
    removed = db.execute(delete(Authenticator).where(Authenticator.user_id == user_id))
    return bool(removed.rowcount)  # type: ignore[attr-defined]


def normalize_totp(typed: str) -> str:
    cleaned = unicodedata.normalize("NFKC", typed[:64]).replace(" ", "").replace("-", "")
    if len(cleaned) != DIGITS or not cleaned.isascii() or not cleaned.isdigit():
        raise InvalidCode()
    return cleaned


def code_at(secret: str, step: int, digits: int = DIGITS) -> str:
    """The code an app shows for a time step (RFC 6238, HMAC-SHA1)."""
    return str(pyotp.TOTP(secret, digits=digits, interval=STEP_SECONDS).generate_otp(step))


def _matching_step(secret: str, code: str, steps: range) -> int | None:
    matched = None
    for step in steps:
        # Check every step (no early exit), so timing says nothing about which matched.
        if hmac.compare_digest(code_at(secret, step), code) and matched is None:
            matched = step
    return matched


def _accept_code(
    db: Session, ctx: Context, authenticator: Authenticator, typed: str, *, hint_ahead: bool
) -> None:
    code = normalize_totp(typed)
    secret = ctx.keyring.unseal(authenticator.sealed_secret, _seal_context(authenticator.user_id))
    now_step = int(ctx.clock.now().timestamp()) // STEP_SECONDS
    accepted_steps = range(now_step - ACCEPTED_DRIFT, now_step + ACCEPTED_DRIFT + 1)
    step = _matching_step(secret, code, accepted_steps)
    if step is None:
        hint_steps = range(now_step - DRIFT_HINT, now_step + (DRIFT_HINT if hint_ahead else 0) + 1)
        if _matching_step(secret, code, hint_steps) is not None:
            raise ClockOutOfSync()
        raise InvalidCode()
    # The step is accepted once: one conditional UPDATE, in the database, not in memory.
    accepted = db.execute(
        update(Authenticator)
        .where(
            Authenticator.id == authenticator.id,
            or_(Authenticator.last_used_step.is_(None), Authenticator.last_used_step < step),
        )
        .values(last_used_step=step)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if accepted != 1:
        raise CodeAlreadyUsed(datetime.fromtimestamp(step * STEP_SECONDS, ctx.clock.now().tzinfo))
    db.expire(authenticator)
