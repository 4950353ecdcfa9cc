"""How a request proves its session: a cookie for pages, a bearer token for the API."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mamori.core.errors import NotAuthenticated
from mamori.sessions.errors import PasswordChangeRequired
from mamori.sessions.service import find_session
from mamori.web.deps import request_origin
from mamori.web.templating import cookie_name, is_https

SESSION_COOKIE = "mamori_session"
DEVICE_COOKIE = "mamori_device"
DEVICE_COOKIE_DAYS = 400  # the longest a browser keeps a cookie (Chromium's cap)
DEVICE_SECRET = re.compile(r"[A-Za-z0-9_-]{43}")
NEW_PASSWORD_API = "/api/v1/me/password/new"  # noqa: S105 (a path)
bearer = HTTPBearer(auto_error=False, description="A session token from POST /api/v1/login")


@dataclass(frozen=True)
class Caller:
    """The logged-in user behind a request, detached from any database session."""

    user_id: int
    session_id: int
    session_public_id: str
    reauthenticated_at: datetime | None
    # After "This wasn't me": only setting a new password is open to this session.
    must_change_password: bool = False


def _caller_for(request: Request, token: str | None) -> Caller | None:
    if not token:
        return None
    ctx = request.app.state.ctx
    with ctx.database.session() as db:
        session = find_session(db, ctx.clock, ctx.settings, token, request_origin(request))
        if session is None:
            return None
        return Caller(
            session.user_id,
            session.id,
            session.public_id,
            session.reauthenticated_at,
            session.must_change_password,
        )


def _any_api_caller(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    caller = _caller_for(request, credentials.credentials if credentials else None)
    if caller is None:
        raise NotAuthenticated()
    return caller


def api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    caller = _any_api_caller(request, credentials)
    if caller.must_change_password:
        raise PasswordChangeRequired(set_password=NEW_PASSWORD_API)
    return caller


def api_caller_setting_password(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    """Also a session held by "This wasn't me": for the route that sets the new password."""
    return _any_api_caller(request, credentials)


def unauthenticated_api_request(request: Request) -> bool:
    """A request to a route behind a bearer token that carries no live session."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None or not _depends_on(dependant, bearer):
        return False
    credentials = request.headers.get("authorization", "")
    scheme, _, token = credentials.partition(" ")
    return _caller_for(request, token.strip() if scheme.lower() == "bearer" else None) is None


def _depends_on(dependant: Any, call: object) -> bool:
    return any(d.call is call or _depends_on(d, call) for d in dependant.dependencies)


def _any_web_caller(request: Request) -> Caller | None:
    return _caller_for(request, request.cookies.get(cookie_name(request, SESSION_COOKIE)))


def web_caller(request: Request) -> Caller | None:
    """The logged-in viewer of a page. A session held by "This wasn't me" counts as
    logged out everywhere but the "set a new password" page."""
    caller = _any_web_caller(request)
    return None if caller is None or caller.must_change_password else caller


def web_caller_setting_password(request: Request) -> Caller | None:
    return _any_web_caller(request)


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


ApiCaller = Annotated[Caller, Depends(api_caller)]
WebCaller = Annotated[Caller | None, Depends(web_caller)]
ApiCallerSettingPassword = Annotated[Caller, Depends(api_caller_setting_password)]
WebCallerSettingPassword = Annotated[Caller | None, Depends(web_caller_setting_password)]
