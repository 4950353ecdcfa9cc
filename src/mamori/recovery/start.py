"""Starting a recovery: from what the person typed, or approved by an operator."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import find_by_login, login_key
from mamori.audit.service import Origin, record_event
from mamori.codes import service as codes
from mamori.context import Context
from mamori.core.crypto import new_token, token_digest
from mamori.core.errors import TooManyAttempts
from mamori.core.throttle import Policy
from mamori.recovery.attempts import password_stamp, typed_context
from mamori.recovery.models import OPEN, RecoveryAttempt
from mamori.recovery.progress import RecoveryStatus, status_of
from mamori.recovery.proofs import add_proof
from mamori.security import service as security
from mamori.settings import Settings


@dataclass(frozen=True)
class StartedRecovery:
    token: str
    status: RecoveryStatus


def ip_policy(settings: Settings) -> Policy:
    return Policy(
        name="recovery-ip",
        window=timedelta(hours=1),
        free=settings.recovery_starts_per_ip_hour,
        max_delay=timedelta(hours=1),
    )


def account_policy(settings: Settings) -> Policy:
    return Policy(
        name="recovery-account",
        window=timedelta(hours=1),
        free=settings.recovery_starts_per_account_hour,
        max_delay=timedelta(hours=1),
    )


def start_recovery(
    db: Session, ctx: Context, origin: Origin, *, login: str, device: str | None = None
) -> StartedRecovery:
    """Open a recovery for whatever account `login` names, or for none, alike.

    Starts are limited per IP and per typed login (its canonical form, so notations
    share a counter, and unknown logins are limited exactly like known ones)."""
    settings = ctx.settings
    key = login_key(login, settings.default_phone_region) or "empty"
    user = find_by_login(db, login, settings.default_phone_region)
    if user is not None and user.disabled_at is not None:
        user = None
    login_digest = ctx.keyring.keyed_digest("throttle-recovery", key)[:32]
    # The owner's own browser (or, over the API, an IP they logged in from) has a counter
    # of its own: starts by others naming the username do not keep them out.
    lane = security.trusted_lane(db, ctx, user, origin, device)
    ip_subject = origin.ip or "unknown"
    ctx.throttle.reserve(db, ip_policy(settings), ip_subject)
    try:
        ctx.throttle.reserve(
            db, account_policy(settings), f"{login_digest}:{lane}" if lane else login_digest
        )
    except TooManyAttempts:
        ctx.throttle.give_back(db, ip_policy(settings), ip_subject)  # refused, not counted
        raise
    token = new_token()
    kind, _, typed = key.partition(":")
    attempt = _new_attempt(db, ctx, token, user, login_kind=kind)
    attempt.login_digest = login_digest
    if attempt.login_kind in ("email", "phone"):
        channel: codes.Channel = "email" if attempt.login_kind == "email" else "sms"
        attempt.typed_masked = codes.mask_destination(channel, typed)[:100]
        attempt.typed_sealed = ctx.keyring.seal(typed, typed_context(attempt))
    record_event(
        db,
        ctx.clock,
        "recovery.started",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        login_kind=attempt.login_kind,
        matched=user is not None,
    )
    return StartedRecovery(token, status_of(db, ctx, attempt))


def start_approved_recovery(
    db: Session, ctx: Context, origin: Origin, user: User, *, approved_by: str
) -> str:
    """A recovery already proven by an operator (a support case). Returns its token.

    It always takes the holding period, since the address it goes to may be new."""
    token = new_token()
    attempt = _new_attempt(db, ctx, token, user, login_kind="username", started_by="support")
    add_proof(db, ctx, origin, attempt, "support")
    record_event(
        db,
        ctx.clock,
        "recovery.approved",
        origin,
        user_id=user.id,
        recovery=attempt.public_id,
        approved_by=approved_by,
    )
    return token


def _new_attempt(
    db: Session,
    ctx: Context,
    token: str,
    user: User | None,
    *,
    login_kind: str,
    started_by: str = "person",
) -> RecoveryAttempt:
    now = ctx.clock.now()
    attempt = RecoveryAttempt(
        public_id=secrets.token_urlsafe(12),
        token_digest=token_digest(token),
        user_id=user.id if user else None,
        login_kind=login_kind if login_kind in ("username", "email", "phone") else "username",
        password_stamp=password_stamp(user) if user else None,
        state=OPEN,
        created_at=now,
        expires_at=now + timedelta(hours=ctx.settings.recovery_attempt_hours),
        removes_second_factor=False,
        started_by=started_by,
    )
    db.add(attempt)
    db.flush()
    return attempt
