"""Completing a recovery: the new password at once, or after the holding period when
two-factor goes (or an operator approved it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import check_new_password
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import new_token, token_digest
from mamori.core.db import changed_one
from mamori.core.i18n import format_moment
from mamori.recovery import messages
from mamori.recovery.alerts import alert_everywhere
from mamori.recovery.attempts import attempt_user, open_attempt, password_stamp, proofs_of
from mamori.recovery.cancel import end_recovery, end_stale_holds
from mamori.recovery.errors import MoreProofNeeded, RecoveryExpired, RecoveryInProgress
from mamori.recovery.models import CANCELLED, COMPLETED, HOLDING, OPEN, RecoveryAttempt
from mamori.recovery.progress import (
    RecoveryStatus,
    proofs_suffice,
    removes_second_factor,
    status_of,
)
from mamori.sessions.service import end_other_sessions
from mamori.two_factor import service as two_factor


@dataclass(frozen=True)
class CompletedRecovery:
    status: RecoveryStatus
    # The "This wasn't me — cancel" link's secret, while the recovery holds.
    cancel_token: str | None


def complete_recovery(
    db: Session, ctx: Context, origin: Origin, token: str, new_password: str
) -> CompletedRecovery:
    """Set the new password: at once, or after the holding period when two-factor goes.

    MoreProofNeeded (409) until the proofs suffice; RecoveryInProgress (409) when another
    recovery of the account already holds; RecoveryExpired (410) when another recovery or
    a password change came first."""
    attempt = open_attempt(db, ctx, token)
    user = attempt_user(db, attempt)
    proofs = proofs_of(db, attempt)
    if user is None or not proofs_suffice(db, ctx, user, attempt, proofs):
        raise MoreProofNeeded()
    removes = removes_second_factor(db, ctx, user, attempt, proofs)
    # Where the new password will be the only factor, it must be long (NIST SP 800-63B-4).
    single_factor = removes or not two_factor.is_two_factor_on(db, user.id)
    check_new_password(
        ctx.settings,
        new_password,
        user.username,
        user.email.split("@")[0] if user.email else None,
        min_length=ctx.settings.password_min_length_single_factor
        if single_factor
        else ctx.settings.password_min_length,
    )
    new_hash = ctx.hasher.hash(new_password)
    if removes or attempt.started_by == "support":
        cancel_token = _hold(db, ctx, origin, attempt, user, new_hash, proofs)
        return CompletedRecovery(status_of(db, ctx, attempt), cancel_token)
    # Claim it first: an owner's cancel that came in meanwhile wins.
    claimed = db.execute(
        update(RecoveryAttempt)
        .where(RecoveryAttempt.id == attempt.id, RecoveryAttempt.state == OPEN)
        .values(state=COMPLETED)
        .execution_options(synchronize_session=False)
    )
    if not changed_one(claimed) or not _swap_password(db, ctx, user, attempt, new_hash):
        raise RecoveryExpired()
    _finish(db, ctx, origin, attempt, user, removed_second_factor=False)
    return CompletedRecovery(status_of(db, ctx, attempt), None)


def _hold(
    db: Session,
    ctx: Context,
    origin: Origin,
    attempt: RecoveryAttempt,
    user: User,
    new_hash: str,
    proofs: list[str],
) -> str:
    now = ctx.clock.now()
    cancel_token = new_token()
    end_stale_holds(db, ctx, origin, user)
    try:
        with db.begin_nested():
            attempt.state = HOLDING
            attempt.holding_user_id = user.id
            attempt.new_password_hash = new_hash
            attempt.removes_second_factor = two_factor.is_two_factor_on(db, user.id)
            attempt.takes_effect_at = now + timedelta(hours=ctx.settings.recovery_holding_hours)
            attempt.cancel_token_digest = token_digest(cancel_token)
            db.flush()
    except IntegrityError as exc:
        db.refresh(attempt)
        raise RecoveryInProgress() from exc
    record_event(
        db,
        ctx.clock,
        "recovery.holding",
        origin,
        user_id=user.id,
        recovery=attempt.public_id,
        proofs=proofs,
        takes_effect_at=attempt.takes_effect_at.isoformat(),
        removes_second_factor=attempt.removes_second_factor,
    )
    link = f"{ctx.settings.base_url.rstrip('/')}/recovery/cancel/{cancel_token}"
    when = format_moment(attempt.takes_effect_at, user.locale, user.time_zone)
    alert = (
        messages.HOLDING_REMOVES_TWO_FACTOR if attempt.removes_second_factor else messages.HOLDING
    )
    alert_everywhere(
        db, ctx, origin, user, alert, username=user.username, when=when, cancel=link, secret=link
    )
    if ctx.settings.recovery_holding_hours == 0:
        apply_due_recoveries(db, ctx, origin, user_id=user.id)
    return cancel_token


def _swap_password(
    db: Session, ctx: Context, user: User, attempt: RecoveryAttempt, new_hash: str
) -> bool:
    """One conditional UPDATE: only if the password is still the one the attempt began
    under. Of two recoveries racing, exactly one changes it."""
    db.refresh(user)
    if password_stamp(user) != attempt.password_stamp:
        return False
    result = db.execute(
        update(User)
        .where(User.id == user.id, User.password_hash == user.password_hash)
        .values(password_hash=new_hash, password_changed_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    )
    db.refresh(user)
    return changed_one(result)


def _finish(
    db: Session,
    ctx: Context,
    origin: Origin,
    attempt: RecoveryAttempt,
    user: User,
    *,
    removed_second_factor: bool,
) -> None:
    attempt.state = COMPLETED
    attempt.holding_user_id = None
    attempt.new_password_hash = None
    attempt.finished_at = ctx.clock.now()
    end_other_sessions(db, ctx.clock, origin, user.id, keep=None)
    two_factor.clear_second_factor_failures(db, ctx, user.id)
    record_event(
        db,
        ctx.clock,
        "recovery.completed",
        origin,
        user_id=user.id,
        recovery=attempt.public_id,
        removed_second_factor=removed_second_factor,
    )
    review = f"{ctx.settings.base_url.rstrip('/')}/accounts/center/security-review"
    alert = messages.RECOVERED_TWO_FACTOR_OFF if removed_second_factor else messages.RECOVERED
    alert_everywhere(db, ctx, origin, user, alert, username=user.username, review=review)


def has_due_recovery(db: Session, ctx: Context, user_id: int) -> bool:
    """Whether apply_due_recoveries would find work for this account: a read, so a login
    can ask before it takes any write lock."""
    found = db.scalar(
        select(RecoveryAttempt.id)
        .where(
            RecoveryAttempt.user_id == user_id,
            RecoveryAttempt.state == HOLDING,
            RecoveryAttempt.takes_effect_at <= ctx.clock.now(),
        )
        .limit(1)
    )
    return found is not None


def apply_due_recoveries(
    db: Session, ctx: Context, origin: Origin, *, user_id: int | None = None
) -> int:
    """Let every holding recovery whose time has come take effect. Returns how many did.

    Runs before a password login (so the new password works the moment it is due), on
    the recovery's own page, and from `mamori recovery apply-due`."""
    query = select(RecoveryAttempt).where(
        RecoveryAttempt.state == HOLDING, RecoveryAttempt.takes_effect_at <= ctx.clock.now()
    )
    if user_id is not None:
        query = query.where(RecoveryAttempt.user_id == user_id)
    applied = 0
    for attempt in list(db.scalars(query)):
        if _take_effect(db, ctx, origin, attempt):
            applied += 1
    return applied


def _take_effect(db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt) -> bool:
    # Claim it first: of two requests applying at once, one does the work.
    claimed = db.execute(
        update(RecoveryAttempt)
        .where(RecoveryAttempt.id == attempt.id, RecoveryAttempt.state == HOLDING)
        .values(state=COMPLETED)
        .execution_options(synchronize_session=False)
    )
    db.refresh(attempt)
    user = attempt_user(db, attempt)
    if not changed_one(claimed) or user is None:
        return False
    assert attempt.new_password_hash is not None
    if not _swap_password(db, ctx, user, attempt, attempt.new_password_hash):
        # The owner changed the password meanwhile: the recovery dies.
        end_recovery(db, ctx, origin, attempt, CANCELLED, reason="password_changed")
        return False
    if attempt.removes_second_factor:
        two_factor.remove_every_factor(db, ctx, origin, user, reason="recovery")
    _finish(db, ctx, origin, attempt, user, removed_second_factor=attempt.removes_second_factor)
    return True
