"""Finding a recovery attempt and what it has proven: shared by every step."""

from __future__ import annotations

import hashlib
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.context import Context
from mamori.core.crypto import token_digest
from mamori.recovery.errors import RecoveryExpired
from mamori.recovery.models import OPEN, RecoveryAttempt, RecoveryProof
from mamori.second_factors.methods import Method
from mamori.two_factor import service as two_factor

Option = Literal["email", "sms"]
CODE_PROOFS = {"email": "email_code", "sms": "sms_code"}
# What only the person can have received: the first proof is always one of these.
RECEIVED = frozenset({"email_code", "sms_code", "trusted_contacts", "support"})
SECOND_FACTORS = frozenset({Method.PASSKEY, Method.TOTP, Method.BACKUP_CODE})
MAX_TOKEN = 128


# Where a unit of work holds the accounts its recovery attempts name (see _check_stamp).
_HELD = "mamori_recovery_accounts"


def password_stamp(user: User) -> str:
    """Changes with every password change (argon2id hashes are salted afresh each time)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()


def open_attempt(db: Session, ctx: Context, token: str) -> RecoveryAttempt:
    """The open recovery this token names; anything else is RecoveryExpired (410)."""
    attempt = find_attempt(db, token)
    if attempt is None or attempt.state != OPEN or attempt.expires_at <= ctx.clock.now():
        raise RecoveryExpired()
    _check_stamp(db, attempt)
    return attempt


def find_attempt(db: Session, token: str) -> RecoveryAttempt | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return db.scalar(
        select(RecoveryAttempt).where(RecoveryAttempt.token_digest == token_digest(token))
    )


def _check_stamp(db: Session, attempt: RecoveryAttempt) -> None:
    # The lookup runs for an unknown account too, so both take the same time. The account
    # is then held for the rest of the unit of work: the session forgets an object nobody
    # holds, and every later attempt_user read it again, statements an unknown account
    # (looked up once, as id 0) never runs.
    user = get_user(db, attempt.user_id or 0)
    db.info.setdefault(_HELD, []).append(user)
    if attempt.user_id is None:
        return
    if (
        user is None
        or user.disabled_at is not None
        or password_stamp(user) != attempt.password_stamp
    ):
        raise RecoveryExpired()


def attempt_user(db: Session, attempt: RecoveryAttempt) -> User | None:
    return get_user(db, attempt.user_id) if attempt.user_id is not None else None


def proofs_of(db: Session, attempt: RecoveryAttempt) -> list[str]:
    return list(
        db.scalars(
            select(RecoveryProof.kind)
            .where(RecoveryProof.attempt_id == attempt.id)
            .order_by(RecoveryProof.id)
        )
    )


def confirmed_destination(db: Session, user: User | None, channel: str) -> str | None:
    """A code only ever goes to an address the owner confirmed before."""
    if user is None:
        return None
    if channel == "email":
        return user.email if user.email and user.email_confirmed_at else None
    if user.phone and user.phone_confirmed_at:
        return user.phone
    phone = two_factor.confirmed_phone(db, user.id)
    return phone.phone if phone else None


def typed_context(attempt: RecoveryAttempt) -> str:
    return f"recovery-typed:{attempt.public_id}"
