"""Proving it's still you before a sensitive change (the last 10 minutes count)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.accounts.errors import WrongPassword
from mamori.accounts.models import User
from mamori.accounts.service import confirm_password, get_user
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.errors import NotAuthenticated
from mamori.sessions.models import LoginSession
from mamori.sessions.service import mark_reauthenticated, require_recent_reauthentication


def session_and_user(db: Session, session_id: int) -> tuple[LoginSession, User]:
    session = db.get(LoginSession, session_id)
    user = get_user(db, session.user_id) if session else None
    if session is None or user is None:
        raise NotAuthenticated()
    return session, user


def reauthenticate_with_password(
    db: Session, ctx: Context, origin: Origin, session_id: int, password: str
) -> None:
    session, user = session_and_user(db, session_id)
    if not confirm_password(db, ctx, user, password):
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
    mark_reauthenticated(ctx.clock, session)
    record_event(
        db, ctx.clock, "reauthentication.succeeded", origin, user_id=user.id, factor="password"
    )


def recently_reauthenticated_user(db: Session, ctx: Context, session_id: int) -> User:
    """The session's user, if they confirmed it's them within the window; otherwise
    ReauthenticationRequired. One lookup, inside the caller's unit of work."""
    session, user = session_and_user(db, session_id)
    require_recent_reauthentication(ctx.clock, ctx.settings, session)
    return user
