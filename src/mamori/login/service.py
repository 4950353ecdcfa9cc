"""Login: the password step, throttled per IP and per account, with no account enumeration."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import find_by_login
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import Keyring
from mamori.core.throttle import Policy
from mamori.login.errors import InvalidCredentials
from mamori.sessions.service import NewSession, start_session
from mamori.settings import Settings


def ip_policy(settings: Settings) -> Policy:
    return Policy(
        name="login-ip",
        window=timedelta(minutes=settings.login_ip_window_minutes),
        free=settings.login_ip_failures,
        max_delay=timedelta(minutes=settings.login_ip_window_minutes),
    )


def account_policy(settings: Settings) -> Policy:
    return Policy(
        name="login-account",
        window=timedelta(hours=1),
        free=settings.login_account_free_failures,
        max_delay=timedelta(seconds=settings.login_account_max_delay_seconds),
    )


@dataclass(frozen=True)
class LoginResult:
    user: User
    session: NewSession | None = None
    second_factor_methods: list[str] = field(default_factory=list)


def account_subject(keyring: Keyring, user: User | None, login: str) -> str:
    """Unknown logins are throttled like known ones, so throttling reveals nothing."""
    if user is not None:
        return f"user:{user.id}"
    typed = unicodedata.normalize("NFKC", login).strip().casefold()
    return "login:" + keyring.keyed_digest("throttle-login", typed)[:32]


def check_password(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    login: str,
    password: str,
) -> User:
    """The user whose password this is, or InvalidCredentials — the same for every failure."""
    settings, clock, hasher, throttle = ctx.settings, ctx.clock, ctx.hasher, ctx.throttle
    ip_subject = origin.ip or "unknown"
    throttle.check(db, ip_policy(settings), ip_subject)
    user = find_by_login(db, login, settings.default_phone_region)
    subject = account_subject(ctx.keyring, user, login)
    throttle.check(db, account_policy(settings), subject)
    # Always run the hash, so an unknown account costs the same time as a known one.
    correct = hasher.verify(user.password_hash if user else None, password)
    if not correct or user is None or user.disabled_at is not None:
        throttle.record_failure(db, ip_policy(settings), ip_subject)
        throttle.record_failure(db, account_policy(settings), subject)
        reason = "unknown_account" if user is None else "disabled" if correct else "bad_password"
        record_event(
            db,
            clock,
            "login.password_failed",
            origin,
            outcome="failure",
            user_id=user.id if user else None,
            reason=reason,
        )
        raise InvalidCredentials()
    # Only this account's counter is cleared; a success never clears a per-IP counter.
    throttle.clear(db, account_policy(settings), subject)
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def log_in(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    login: str,
    password: str,
    kind: str,
) -> LoginResult:
    user = check_password(db, ctx, origin, login=login, password=password)
    session = start_session(db, ctx.clock, ctx.settings, origin, user.id, kind)
    record_event(
        db,
        ctx.clock,
        "login.succeeded",
        origin,
        user_id=user.id,
        factor="password",
        session=session.session.public_id,
    )
    return LoginResult(user=user, session=session)
