"""How strong the password is, rated while its plaintext is at hand (sign-up, login,
change). Only the rating is kept, never the password."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.passwords import common_passwords, normalize_password
from mamori.context import Context
from mamori.security.models import SecurityState

# Beyond this, length alone makes a password strong; zxcvbn is slow on long input.
RATED_LENGTH = 72  # zxcvbn refuses longer input
# A login rates the password again only when its rating is missing, older than the password,
# or older than this: zxcvbn costs ~4 ms of CPU, a fifth of the argon2id hash that bounds
# logins per second, and the score of an unchanged password only moves when the hints (a
# new e-mail) or the common-password list do, which a daily refresh covers.
LOGIN_RERATE_AFTER = timedelta(days=1)


def state_for_update(db: Session, user_id: int) -> SecurityState:
    state = db.get(SecurityState, user_id)
    if state is None:
        state = SecurityState(user_id=user_id)
        db.add(state)
        db.flush()
    return state


@cache
def _zxcvbn() -> Callable[..., dict[str, Any]]:
    # Imported on first use (see accounts/passwords.py): its dictionaries are large.
    from zxcvbn import zxcvbn

    rate: Callable[..., dict[str, Any]] = zxcvbn
    return rate


def rate_password(db: Session, ctx: Context, user: User, password: str) -> None:
    normalized = normalize_password(password)
    hints = [user.username, "mamori", *(user.email.split("@")[:1] if user.email else [])]
    score = int(_zxcvbn()(normalized[:RATED_LENGTH], user_inputs=hints)["score"])
    state = state_for_update(db, user.id)
    state.password_score = score
    state.password_common = normalized.casefold() in common_passwords()
    state.password_rated_at = ctx.clock.now()


def rate_password_at_login(db: Session, ctx: Context, user: User, password: str) -> None:
    """rate_password, unless a rating of this same password from the last day is kept."""
    state = db.get(SecurityState, user.id)
    if (
        state is not None
        and state.password_rated_at is not None
        and state.password_score is not None
        and state.password_rated_at >= user.password_changed_at
        and ctx.clock.now() - state.password_rated_at < LOGIN_RERATE_AFTER
    ):
        return
    rate_password(db, ctx, user, password)


def password_rating(state: SecurityState | None, user: User) -> tuple[int, bool] | None:
    """(zxcvbn score 0–4, is a common password), or None when the rating is missing or
    older than the password (changed on a path that did not rate it)."""
    if state is None or state.password_rated_at is None or state.password_score is None:
        return None
    if state.password_rated_at < user.password_changed_at:
        return None
    return state.password_score, bool(state.password_common)
