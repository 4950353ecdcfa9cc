"""Helpers for backup-code tests: an account with codes, a session, the other mode."""

from __future__ import annotations

import dataclasses
import secrets

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.backup_codes.service import generate_backup_codes, use_backup_code
from mamori.context import Context
from mamori.notifications.models import OutboxMessage
from mamori.sessions.models import LoginSession
from mamori.sessions.service import start_session
from mamori.sign_up.service import sign_up
from tests.conftest import PASSWORD

ORIGIN = Origin(ip="203.0.113.7", user_agent="pytest")
PAGE = "/accounts/center/password-and-security/two-factor/backup-codes"


def with_settings(ctx: Context, **changes: object) -> Context:
    return dataclasses.replace(ctx, settings=ctx.settings.model_copy(update=changes))


def in_mode(ctx: Context, mode: str) -> Context:
    return with_settings(ctx, backup_codes_mode=mode)


def make_user(ctx: Context, username: str = "hana") -> int:
    with ctx.database.session() as db:
        user = sign_up(
            db, ctx, ORIGIN, username=username, password=PASSWORD, email=f"{username}@example.com"
        )
        return user.id


def make_codes(ctx: Context, user_id: int) -> list[str]:
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        assert user is not None
        return generate_backup_codes(db, ctx, ORIGIN, user)


def spend(ctx: Context, user_id: int, typed: str) -> int:
    """A code used at login, as the login challenge does it."""
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        assert user is not None
        return use_backup_code(db, ctx, ORIGIN, user, typed)


def start(ctx: Context, user_id: int) -> tuple[int, str]:
    """A fresh session (it counts as just reauthenticated): (session id, token)."""
    with ctx.database.session() as db:
        new = start_session(db, ctx.clock, ctx.settings, ORIGIN, user_id, "web")
        return new.session.id, new.token


def user_and_session(db, user_id: int, session_id: int) -> tuple[User, LoginSession]:
    user = db.get(User, user_id)
    session = db.get(LoginSession, session_id)
    assert user is not None and session is not None
    return user, session


def subjects(ctx: Context, to: str) -> list[str]:
    """Alert subjects sent to `to`, oldest first."""
    with ctx.database.session() as db:
        rows = db.scalars(
            select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)
        )
        return [row.subject for row in rows]


def bodies(ctx: Context, to: str) -> list[str]:
    with ctx.database.session() as db:
        rows = db.scalars(
            select(OutboxMessage).where(OutboxMessage.to == to).order_by(OutboxMessage.id)
        )
        return [row.body for row in rows]


def web_login(client: TestClient, token: str) -> str:
    """Put the session into the browser's cookie jar; returns a CSRF token for forms."""
    csrf = secrets.token_urlsafe(32)
    client.cookies.set("mamori_session", token)
    client.cookies.set("mamori_csrf", csrf)
    return csrf
