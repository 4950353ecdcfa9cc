"""Proving it's still you before a sensitive change (the last 10 minutes count)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from mamori.accounts.errors import WrongPassword
from mamori.accounts.service import get_user
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.errors import NotAuthenticated
from mamori.core.throttle import Policy
from mamori.sessions.models import LoginSession
from mamori.sessions.service import mark_reauthenticated


def reauthentication_policy(ctx: Context) -> Policy:
    return Policy(
        name="reauthenticate",
        window=timedelta(hours=1),
        free=ctx.settings.login_account_free_failures,
        max_delay=timedelta(seconds=ctx.settings.login_account_max_delay_seconds),
    )


def reauthenticate_with_password(
    db: Session, ctx: Context, origin: Origin, session_id: int, password: str
) -> None:
    session = db.get(LoginSession, session_id)
    user = get_user(db, session.user_id) if session else None
    if session is None or user is None:
        raise NotAuthenticated()
    policy = reauthentication_policy(ctx)
    ctx.throttle.check(db, policy, f"user:{user.id}")
    if not ctx.hasher.verify(user.password_hash, password):
        ctx.throttle.record_failure(db, policy, f"user:{user.id}")
        record_event(
            db,
            ctx.clock,
            "reauthentication.failed",
            origin,
            user_id=user.id,
            outcome="failure",
            factor="password",
        )
        raise WrongPassword()
    ctx.throttle.clear(db, policy, f"user:{user.id}")
    mark_reauthenticated(ctx.clock, session)
    record_event(
        db, ctx.clock, "reauthentication.succeeded", origin, user_id=user.id, factor="password"
    )
