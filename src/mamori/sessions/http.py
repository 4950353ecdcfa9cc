"""How a request proves its session: a cookie for pages, a bearer token for the API."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from fastapi.security import HTTPBearer

from mamori.sessions.service import find_session
from mamori.web.templating import cookie_name, is_https

SESSION_COOKIE = "mamori_session"
DEVICE_COOKIE = "mamori_device"
DEVICE_COOKIE_DAYS = 400  # the longest a browser keeps a cookie (Chromium's cap)
DEVICE_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
NEW_PASSWORD_API = "/api/v1/me/password/new"  # noqa: S105 (a path)
bearer = HTTPBearer(auto_error=False, description="A session token from POST /api/v1/login")


def unauthenticated_api_request(request: Request) -> bool:
    """A request to a route behind a bearer token that carries no live session."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not _depends_on(dependant, bearer):
        return False
    credentials = request.headers.get("authorization", "")
    scheme, _, token = credentials.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return True
    # FastAPI parses the body before any dependency runs, so this is its own lookup.
    ctx = request.app.state.ctx
    with ctx.database.session() as db:
        session = find_session(db, ctx.clock, ctx.settings, token.strip())
        return session is None


def _depends_on(dependant: Any, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def device_secret(request: Request) -> str:
    """This browser's device cookie, or a new one (set it with set_device_cookie)."""
    found = request.cookies.get(cookie_name(request, DEVICE_COOKIE), "")
    if DEVICE_SECRET.fullmatch(found):
        return found
    return secrets.token_urlsafe(32)


def set_device_cookie(request: Request, response: Response, secret: str) -> None:
    # Long-lived, so a returning browser is recognised; it proves nothing on its own.
    response.set_cookie(
        cookie_name(request, DEVICE_COOKIE),
        secret,
        max_age=DEVICE_COOKIE_DAYS * 24 * 3600,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
        path="/",
    )


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    # The browser keeps the cookie as long as the server may keep the session, so closing
    # the browser does not log a person out; idle and absolute limits hold on the server.
    lifetime = request.app.state.ctx.settings.session_absolute_minutes * 60
    response.set_cookie(
        cookie_name(request, SESSION_COOKIE),
        token,
        max_age=lifetime,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
        path="/",
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    response.delete_cookie(
        cookie_name(request, SESSION_COOKIE),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
