"""Ceremony challenges: 32 random bytes, kept as a digest with what they are for and
whom they belong to, for 5 minutes, used once by one conditional UPDATE."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import delete, update
from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.passkeys.errors import PasskeyRequestExpired
from mamori.passkeys.models import PasskeyChallenge

CHALLENGE_BYTES = 32
LIFETIME = timedelta(minutes=5)


class Purpose(StrEnum):
    REGISTER = "register"  # adding a passkey, bound to the session
    LOG_IN = "login"  # a passkey alone, bound to the browser (or "api")
    SECOND_FACTOR = "second_factor"  # the second step, "Confirm it's you", recovery


def challenge_digest(challenge: bytes) -> str:
    # 256 random bits: a plain SHA-256 is a safe lookup key, and a dump reveals no challenge.
    return hashlib.sha256(challenge).hexdigest()


def new_challenge(db: Session, ctx: Context, purpose: Purpose, binding: str) -> bytes:
    now = ctx.clock.now()
    # Old ones go as new ones come: the table holds minutes of ceremonies, not years.
    db.execute(
        delete(PasskeyChallenge)
        .where(PasskeyChallenge.expires_at < now - timedelta(days=1))
        .execution_options(synchronize_session=False)
    )
    challenge = secrets.token_bytes(CHALLENGE_BYTES)
    db.add(
        PasskeyChallenge(
            digest=challenge_digest(challenge),
            purpose=purpose.value,
            binding=binding,
            created_at=now,
            expires_at=now + LIFETIME,
        )
    )
    db.flush()
    return challenge


def use_challenge(
    db: Session, ctx: Context, challenge: bytes, purpose: Purpose, binding: str
) -> None:
    """Once: of two requests with one challenge at the same moment, one goes on. Unknown,
    expired, used, or for another purpose or binding: PasskeyRequestExpired."""
    now = ctx.clock.now()
    used = db.execute(
        update(PasskeyChallenge)
        .where(
            PasskeyChallenge.digest == challenge_digest(challenge),
            PasskeyChallenge.purpose == purpose.value,
            PasskeyChallenge.binding == binding,
            PasskeyChallenge.used_at.is_(None),
            PasskeyChallenge.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if used != 1:
        raise PasskeyRequestExpired()
