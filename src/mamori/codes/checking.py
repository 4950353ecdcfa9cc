"""Checking a typed code: right once (one conditional UPDATE), wrong ones counted, five at most."""

from __future__ import annotations

import hmac
import re
import unicodedata
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.codes.models import SecurityCode
from mamori.codes.stored import (
    CODE_DIGITS,
    MAX_BINDING,
    PURPOSE,
    binding_digest,
    code_digest,
    code_for,
)
from mamori.context import Context
from mamori.core.db import changed_one
from mamori.core.errors import ChallengeExpired, CodeAlreadyUsed, InvalidCode

# Spaces and every dash people type between digit groups (after NFKC).
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc]")


def verify_security_code(
    db: Session, ctx: Context, origin: Origin, *, purpose: str, binding: str, typed: str
) -> None:
    """Accept `typed` once if it is the live code of `binding`; otherwise raise.

    InvalidCode (400; `attempts_left` when it counted), ChallengeExpired (410: no live
    code, expired, or its attempts are used up), CodeAlreadyUsed (409: the right code,
    already spent)."""
    code = normalize_code(typed)
    if not PURPOSE.fullmatch(purpose) or len(binding) > MAX_BINDING:
        raise ChallengeExpired()
    row = code_for(db, binding_digest(ctx, purpose, binding))
    if row is None or row.purpose != purpose:
        _audit_verify(db, ctx, origin, None, purpose, "failure", "no_code")
        raise ChallengeExpired()
    if code is None:
        _audit_verify(db, ctx, origin, row.user_id, purpose, "failure", "malformed")
        raise InvalidCode()
    digest = code_digest(ctx, purpose, binding, code)
    right = hmac.compare_digest(digest, row.code_digest)
    if row.used_at is not None:
        _audit_verify(db, ctx, origin, row.user_id, purpose, "failure", "used")
        if right:
            raise CodeAlreadyUsed(row.used_at)
        raise ChallengeExpired()
    if row.failures >= ctx.settings.security_code_max_attempts or row.expires_at <= ctx.clock.now():
        _audit_verify(db, ctx, origin, row.user_id, purpose, "failure", "expired")
        raise ChallengeExpired()
    if right:
        _spend(db, ctx, origin, row, digest)
        return
    _count_wrong_code(db, ctx, origin, row)


def normalize_code(typed: str) -> str | None:
    """Full-width digits, spaces and hyphens are fine ("１２３ ４５６"); anything else is not."""
    if len(typed) > 64:
        return None
    cleaned = SEPARATORS.sub("", unicodedata.normalize("NFKC", typed))
    return cleaned if re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", cleaned) else None


def _spend(db: Session, ctx: Context, origin: Origin, row: SecurityCode, digest: str) -> None:
    now = ctx.clock.now()
    result = db.execute(
        update(SecurityCode)
        .where(
            SecurityCode.id == row.id,
            SecurityCode.code_digest == digest,
            SecurityCode.used_at.is_(None),
            SecurityCode.expires_at > now,
            SecurityCode.failures < ctx.settings.security_code_max_attempts,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if changed_one(result):
        _audit_verify(db, ctx, origin, row.user_id, row.purpose, "success", None)
        return
    # Another request spent it (or replaced it) between our read and our write.
    db.refresh(row)
    _audit_verify(db, ctx, origin, row.user_id, row.purpose, "failure", "used")
    if row.used_at is not None and hmac.compare_digest(digest, row.code_digest):
        raise CodeAlreadyUsed(row.used_at)
    raise ChallengeExpired()


def _count_wrong_code(db: Session, ctx: Context, origin: Origin, row: SecurityCode) -> None:
    limit = ctx.settings.security_code_max_attempts
    failures = db.scalar(
        update(SecurityCode)
        .where(
            SecurityCode.id == row.id,
            SecurityCode.used_at.is_(None),
            SecurityCode.failures < limit,
        )
        .values(failures=SecurityCode.failures + 1)
        .returning(SecurityCode.failures)
        .execution_options(synchronize_session=False)
    )
    _audit_verify(db, ctx, origin, row.user_id, row.purpose, "failure", "wrong_code")
    if failures is None:
        raise ChallengeExpired()
    raise InvalidCode(attempts_left=max(0, limit - failures))


def _audit_verify(
    db: Session,
    ctx: Context,
    origin: Origin,
    user_id: int | None,
    purpose: str,
    outcome: str,
    reason: str | None,
) -> None:
    details: dict[str, Any] = {"purpose": purpose}
    if reason:
        details["reason"] = reason
    record_event(
        db, ctx.clock, "security_code.verified", origin, user_id=user_id, outcome=outcome, **details
    )
