"""Accounts Center: changing the password (the pages and routes are views.py, api.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from mamori.accounts.errors import UnknownTimeZone, WrongPassword
from mamori.accounts.models import User
from mamori.accounts.service import check_new_password, confirm_password, minimum_password_length
from mamori.audit.service import Origin, record_event
from mamori.core.i18n import known_zone
from mamori.notifications.service import alert_user
from mamori.security.ratings import rate_password
from mamori.sessions.models import LoginSession
from mamori.sessions.service import end_other_sessions
from mamori.two_factor.service import is_two_factor_on

if TYPE_CHECKING:
    from mamori.context import Context


def shortest_new_password(db: Session, ctx: Context, user_id: int) -> int:
    return minimum_password_length(ctx.settings, two_factor_on=is_two_factor_on(db, user_id))


def change_password(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    *,
    current_password: str,
    new_password: str,
    session_id: int,
) -> None:
    """Needs the current password (ASVS 6.2.3). Every other session of the account ends;
    the one asking (`session_id`) stays logged in."""
    clock, settings, hasher = ctx.clock, ctx.settings, ctx.hasher
    check_new_password(
        settings,
        new_password,
        user.username,
        user.email.split("@")[0] if user.email else None,
        min_length=shortest_new_password(db, ctx, user.id),
    )
    if not confirm_password(db, ctx, user, current_password):
        record_event(
            db, clock, "password.change_failed", origin, user_id=user.id, outcome="failure"
        )
        raise WrongPassword()
    user.password_hash = hasher.hash(new_password)
    user.password_changed_at = clock.now()
    rate_password(db, ctx, user, new_password)
    record_event(db, clock, "password.changed", origin, user_id=user.id)
    alert_user(
        db,
        ctx,
        user,
        "Your password was changed",
        "The password of your account %(username)s was changed.",
        username=user.username,
    )
    end_other_sessions(db, clock, origin, user.id, db.get(LoginSession, session_id))


def change_time_zone(db: Session, ctx: Context, origin: Origin, user: User, zone: str) -> None:
    """Every time shown to the person, on pages and in messages, is in this zone."""
    chosen = known_zone(zone)
    if chosen is None:
        raise UnknownTimeZone()
    if chosen != user.time_zone:
        user.time_zone = chosen
        record_event(
            db, ctx.clock, "account.time_zone_changed", origin, user_id=user.id, time_zone=chosen
        )
