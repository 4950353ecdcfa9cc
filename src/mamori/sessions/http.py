"""How a request proves its session: a cookie for pages, a bearer token for the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request
from fastapi.responses import Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mamori.core.errors import NotAuthenticated
from mamori.core.net import request_origin
from mamori.sessions.service import find_session
from mamori.web.templating import cookie_name, is_https

SESSION_COOKIE = "mamori_session"
bearer = HTTPBearer(auto_error=False, description="A session token from POST /api/v1/login")


@dataclass(frozen=True)
class Caller:
    """The logged-in user behind a request, detached from any database session."""

    user_id: int
    session_id: int
    session_public_id: str
    reauthenticated_at: datetime | None


def _caller_for(request: Request, token: str | None) -> Caller | None:
    if not token:
        return None
    ctx = request.app.state.ctx
    with ctx.database.session() as db:
        session = find_session(db, ctx.clock, ctx.settings, token, request_origin(request))
        if session is None:
            return None
        return Caller(session.user_id, session.id, session.public_id, session.reauthenticated_at)


def api_caller(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Caller:
    caller = _caller_for(request, credentials.credentials if credentials else None)
    if caller is None:
        raise NotAuthenticated()
    return caller


def web_caller(request: Request) -> Caller | None:
    return _caller_for(request, request.cookies.get(cookie_name(request, SESSION_COOKIE)))


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
