"""Cancelling a recovery: by the link in every alert, by the owner, or because the
password changed."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import token_digest
from mamori.core.db import changed_one
from mamori.recovery import messages
from mamori.recovery.alerts import alert_everywhere
from mamori.recovery.attempts import MAX_TOKEN, attempt_user, password_stamp
from mamori.recovery.errors import CancelLinkExpired, RecoveryNotFound
from mamori.recovery.models import CANCELLED, COMPLETED, HOLDING, OPEN, RecoveryAttempt
from mamori.sessions.service import PUBLIC_ID


def cancel_by_link(db: Session, ctx: Context, origin: Origin, cancel_token: str) -> None:
    """ "This wasn't me — cancel": the link in every alert about a holding recovery."""
    attempt = None
    if cancel_token and len(cancel_token) <= MAX_TOKEN:
        attempt = db.scalar(
            select(RecoveryAttempt).where(
                RecoveryAttempt.cancel_token_digest == token_digest(cancel_token)
            )
        )
    if attempt is None or not _cancel(db, ctx, origin, attempt, by="link"):
        raise CancelLinkExpired()


def cancel_by_owner(
    db: Session, ctx: Context, origin: Origin, user_id: int, public_id: str
) -> None:
    """The owner, from any logged-in session. Someone else's recovery is simply not found."""
    attempt = None
    if PUBLIC_ID.fullmatch(public_id):
        attempt = db.scalar(
            select(RecoveryAttempt).where(
                RecoveryAttempt.public_id == public_id, RecoveryAttempt.user_id == user_id
            )
        )
    if attempt is None or not _cancel(db, ctx, origin, attempt, by="owner"):
        raise RecoveryNotFound()


def end_stale_holds(db: Session, ctx: Context, origin: Origin, user: User) -> None:
    """A holding recovery dies when the password changes (the owner acted on the alert);
    it is ended here rather than when it would have come due, so it neither shows nor
    blocks a new recovery meanwhile."""
    holding = db.scalars(
        select(RecoveryAttempt).where(
            RecoveryAttempt.user_id == user.id, RecoveryAttempt.state == HOLDING
        )
    )
    for attempt in list(holding):
        if attempt.password_stamp != password_stamp(user):
            end_recovery(db, ctx, origin, attempt, CANCELLED, reason="password_changed")


def _cancel(
    db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt, *, by: str
) -> bool:
    if not end_recovery(db, ctx, origin, attempt, CANCELLED, reason=f"cancelled_by_{by}"):
        return False
    user = attempt_user(db, attempt)
    if user is not None:
        alert_everywhere(
            db,
            ctx,
            origin,
            user,
            messages.CANCELLED,
            username=user.username,
        )
    return True


def end_recovery(
    db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt, state: str, reason: str
) -> bool:
    result = db.execute(
        update(RecoveryAttempt)
        .where(
            RecoveryAttempt.id == attempt.id,
            RecoveryAttempt.state.in_((OPEN, HOLDING, COMPLETED))
            if reason == "password_changed"
            else RecoveryAttempt.state.in_((OPEN, HOLDING)),
        )
        .values(
            state=state,
            holding_user_id=None,
            new_password_hash=None,
            finished_at=ctx.clock.now(),
        )
        .execution_options(synchronize_session=False)
    )
    db.refresh(attempt)
    if not changed_one(result):
        return False
    record_event(
        db,
        ctx.clock,
        "recovery.cancelled",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        reason=reason,
    )
    return True
