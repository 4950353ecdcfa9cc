"""What the person recovering and the owner are shown."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.service import get_user
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.recovery.attempts import find_attempt, open_attempt, proofs_of
from mamori.recovery.cancel import end_stale_holds
from mamori.recovery.completion import apply_due_recoveries
from mamori.recovery.errors import RecoveryExpired
from mamori.recovery.models import COMPLETED, HOLDING, OPEN, RecoveryAttempt
from mamori.recovery.progress import RecoveryStatus, status_of


def recovery_status(db: Session, ctx: Context, token: str) -> RecoveryStatus:
    """Where a recovery stands. A holding or finished one still answers (its page)."""
    attempt = find_attempt(db, token)
    if attempt is None:
        raise RecoveryExpired()
    if attempt.state == HOLDING:
        apply_due_recoveries(db, ctx, Origin(), user_id=attempt.user_id)
        db.refresh(attempt)
    if attempt.state in (HOLDING, COMPLETED):
        return status_of(db, ctx, attempt)
    return status_of(db, ctx, open_attempt(db, ctx, token))


def pending_recoveries(db: Session, ctx: Context, user_id: int) -> list[RecoveryAttempt]:
    """What the owner is shown in every session: recoveries past their first proof that
    are still open, and those holding."""
    user = get_user(db, user_id)
    if user is not None:
        end_stale_holds(db, ctx, Origin(), user)
    now = ctx.clock.now()
    attempts = db.scalars(
        select(RecoveryAttempt)
        .where(
            RecoveryAttempt.user_id == user_id,
            RecoveryAttempt.state.in_((OPEN, HOLDING)),
        )
        .order_by(RecoveryAttempt.id.desc())
    )
    return [a for a in attempts if a.state == HOLDING or (a.expires_at > now and proofs_of(db, a))]
