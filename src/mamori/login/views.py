"""Pages: log in, log out."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from mamori.core.deps import Ctx, RequestOrigin
from mamori.core.errors import MamoriError
from mamori.login import service
from mamori.sessions.http import WebCaller, clear_session_cookie, set_session_cookie
from mamori.sessions.models import LoginSession
from mamori.sessions.service import end_session
from mamori.web.templating import check_csrf, error_text, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/login")
def login_page(request: Request, caller: WebCaller, next: str = "/") -> Response:
    if caller:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login/login.html", next=safe_next(next))


@router.post("/login", dependencies=[Depends(check_csrf)])
def log_in(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    login: str = Form(max_length=254),
    password: str = Form(max_length=4096),
    next: str = Form("/", max_length=512),
) -> Response:
    try:
        with ctx.database.session() as db:
            result = service.log_in(db, ctx, origin, login=login, password=password, kind="web")
    except MamoriError as error:
        return render(
            request,
            "login/login.html",
            status_code=error.status,
            error=error_text(request, error),
            login=login,
            next=safe_next(next),
        )
    assert result.session is not None
    response = RedirectResponse(safe_next(next), status_code=303)
    set_session_cookie(request, response, result.session.token)
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def log_out(request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller) -> Response:
    if caller:
        with ctx.database.session() as db:
            session = db.get(LoginSession, caller.session_id)
            if session is not None:
                end_session(db, ctx.clock, origin, session)
    response: HTMLResponse | RedirectResponse = RedirectResponse("/login", status_code=303)
    clear_session_cookie(request, response)
    return response
