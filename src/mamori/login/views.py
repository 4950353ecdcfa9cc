"""Pages: log in, log out."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.core.errors import ChallengeExpired, MamoriError
from mamori.core.i18n import translator
from mamori.login import service
from mamori.sessions.http import (
    SESSION_COOKIE,
    clear_session_cookie,
    device_secret,
    set_device_cookie,
    set_session_cookie,
)
from mamori.sessions.service import NewSession, end_session, find_session
from mamori.sessions.signed_in import Db, PageViewer
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import (
    check_csrf,
    cookie_name,
    is_https,
    page_path,
    redirect_to,
    render,
    render_with_error,
    request_locale,
    safe_next,
)

router = APIRouter(include_in_schema=False)
CHALLENGE_COOKIE = "mamori_challenge"


@router.get("/login")
def login_page(request: Request, viewer: PageViewer, next: str = "/") -> Response:
    # Anyone may open it; a person already logged in goes straight on.
    if viewer:
        return RedirectResponse(safe_next(next), status_code=303)
    return render(request, "login/login.html", next=safe_next(next))


@router.post("/login", dependencies=[Depends(check_csrf)])
def log_in(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    login: str = Form(max_length=limits.MAX_LOGIN),
    password: str = Form(max_length=limits.MAX_PASSWORD),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    device = device_secret(request)
    try:
        result = service.log_in(
            db, ctx, origin, login=login, password=password, kind="web", device=device
        )
    except MamoriError as error:
        return render_with_error(
            request, "login/login.html", error, login=login, next=safe_next(next)
        )
    if result.challenge is not None:
        response = redirect_to(request, "challenge_page")
        response.set_cookie(
            cookie_name(request, CHALLENGE_COOKIE),
            result.challenge,
            max_age=ctx.settings.login_challenge_minutes * 60,
            httponly=True,
            secure=is_https(request),
            samesite="lax",
            path="/",
        )
        set_device_cookie(request, response, device)
        return response
    assert result.session is not None
    response = _after_login(request, result.session, safe_next(next))
    set_session_cookie(request, response, result.session.token)
    set_device_cookie(request, response, device)
    return response


def _after_login(request: Request, new: NewSession, target: str) -> RedirectResponse:
    """Where a new session goes first: "set a new password" when the account is held."""
    if new.session.must_change_password:
        return redirect_to(request, "new_password_page")
    return RedirectResponse(target, status_code=303)


def _challenge_token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, CHALLENGE_COOKIE), "")


def _start_over(request: Request) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "login/login.html",
        status_code=410,
        next="/",
        error=_("This login attempt expired. Log in again."),
    )


def _challenge_values(methods: list[str], method: str) -> dict[str, Any]:
    """The page for `method`, or for the default method when that one is not offered."""
    return {"method": method if method in methods else methods[0], "methods": methods}


@router.get("/login/two-factor")
def challenge_page(request: Request, db: Db, ctx: Ctx, method: str = "") -> Response:
    try:
        methods = service.challenge_methods(db, ctx, _challenge_token(request))
    except ChallengeExpired:
        return _start_over(request)
    return render(request, "login/challenge.html", **_challenge_values(methods, method))


def _challenge_error(
    request: Request, db: Session, ctx: Context, token: str, method: str, error: MamoriError
) -> Response:
    """The challenge page again with what went wrong, unless the login must start over."""
    try:
        methods = service.challenge_methods(db, ctx, token)
    except ChallengeExpired:
        return _start_over(request)
    return render_with_error(
        request, "login/challenge.html", error, **_challenge_values(methods, method)
    )


@router.get("/login/two-factor/methods")
def other_methods_page(request: Request, db: Db, ctx: Ctx) -> Response:
    try:
        methods = service.challenge_methods(db, ctx, _challenge_token(request))
    except ChallengeExpired:
        return _start_over(request)
    return render(request, "login/other_methods.html", methods=methods)


@router.post("/login/two-factor/send", dependencies=[Depends(check_csrf)])
def send_login_code(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    method: str = Form(max_length=limits.MAX_METHOD),
) -> Response:
    token = _challenge_token(request)
    _ = translator(request_locale(request))
    try:
        masked = service.send_login_code(
            db, ctx, origin, token, method, device=device_secret(request)
        )
        methods = service.challenge_methods(db, ctx, token)
    except ChallengeExpired:
        return _start_over(request)
    except MamoriError as error:
        return _challenge_error(request, db, ctx, token, method, error)
    return render(
        request,
        "login/challenge.html",
        **_challenge_values(methods, method),
        sent=True,
        notice=_("We sent a code to %(destination)s.", destination=masked),
    )


@router.post("/login/two-factor", dependencies=[Depends(check_csrf)])
def verify_code(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    method: str = Form(max_length=limits.MAX_METHOD),
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    token = _challenge_token(request)
    device = device_secret(request)
    try:
        result = service.verify_second_factor(db, ctx, origin, token, method, code, device=device)
    except ChallengeExpired:
        return _start_over(request)
    except MamoriError as error:
        return _challenge_error(request, db, ctx, token, method, error)
    target = page_path(request, "accounts_center")
    if result.backup_codes_left == 0:
        target = page_path(request, "backup_codes_page") + "?last_used=1"
    response = _after_login(request, result.session, target)
    set_device_cookie(request, response, device)
    response.delete_cookie(
        cookie_name(request, CHALLENGE_COOKIE),
        path="/",
        secure=is_https(request),
        httponly=True,
        samesite="lax",
    )
    set_session_cookie(request, response, result.session.token)
    return response


@router.post("/logout", dependencies=[Depends(check_csrf)])
def log_out(request: Request, db: Db, ctx: Ctx, origin: RequestOrigin) -> Response:
    # Logged out or not, the browser ends on the login page without the cookie. A
    # session held by "This wasn't me" can log out too.
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    session = find_session(db, ctx.clock, ctx.settings, token, origin)
    if session is not None:
        end_session(db, ctx.clock, origin, session)
    response = redirect_to(request, "login_page")
    clear_session_cookie(request, response)
    return response
