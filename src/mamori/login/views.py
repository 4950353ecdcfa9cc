"""Pages: log in, log out."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, unquote, urlencode

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mamori.audit.service import Origin
from mamori.backup_codes.service import remaining_codes
from mamori.context import Context
from mamori.core.errors import ChallengeExpired, MamoriError, TooManyAttempts
from mamori.core.i18n import translator
from mamori.login import passkey, service
from mamori.sessions.http import (
    SESSION_COOKIE,
    clear_session_cookie,
    device_secret,
    set_device_cookie,
    set_session_cookie,
)
from mamori.sessions.service import NewSession, end_session, find_session
from mamori.sessions.signed_in import Db, PageAccount, PageViewer, SignedIn
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
SENT_COOKIE = "mamori_code_sent_to"  # where the last login code went, masked, for the page


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
            request,
            "login/login.html",
            error,
            login=login,
            next=safe_next(next),
            here=_login_here(request, next),
        )
    if result.challenge is not None:
        response = redirect_to(request, "challenge_page", query=_step_query("", next))
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


def _browser_binding(request: Request) -> str:
    """A passkey login's challenge belongs to this browser (its CSRF cookie, checked)."""
    return passkey.browser_binding(request.cookies.get(cookie_name(request, "mamori_csrf"), ""))


@router.post("/login/passkey/options", dependencies=[Depends(check_csrf)])
def passkey_login_options(request: Request, db: Db, ctx: Ctx, origin: RequestOrigin) -> Response:
    """For the login page's script: the same options for everyone."""
    options = passkey.passkey_login_options(db, ctx, origin, _browser_binding(request))
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post("/login/passkey", dependencies=[Depends(check_csrf)])
def log_in_with_passkey(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    credential: str = Form(max_length=limits.MAX_CREDENTIAL),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    device = device_secret(request)
    try:
        result = passkey.log_in_with_passkey(
            db,
            ctx,
            origin,
            credential_json=credential,
            binding=_browser_binding(request),
            kind="web",
            device=device,
        )
    except MamoriError as error:
        return render_with_error(
            request,
            "login/login.html",
            error,
            next=safe_next(next),
            here=_login_here(request, next),
        )
    target = safe_next(next)
    if target == "/":
        target = page_path(request, "accounts_center")
    response = _after_login(request, result.session, target)
    set_session_cookie(request, response, result.session.token)
    set_device_cookie(request, response, device)
    return response


def _login_here(request: Request, next: str) -> str:
    """The login page's own address, with where the person goes after it."""
    query = _step_query("", next)
    here = page_path(request, "login_page")
    return here + ("?" + urlencode(query, safe="/") if query else "")


def _after_login(request: Request, new: NewSession, target: str) -> RedirectResponse:
    """Where a new session goes first: "set a new password" when the account is held."""
    if new.session.must_change_password:
        return redirect_to(request, "new_password_page")
    return RedirectResponse(target, status_code=303)


def _challenge_token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, CHALLENGE_COOKIE), "")


def _go_on(viewer: SignedIn | None, next: str) -> Response | None:
    """A person already logged in (Back after logging in, a form sent twice) goes on to
    where they were going, never to "login expired"."""
    return RedirectResponse(safe_next(next), status_code=303) if viewer else None


def _start_over(request: Request, viewer: SignedIn | None, next: str) -> Response:
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    _ = translator(request_locale(request))
    return render(
        request,
        "login/login.html",
        status_code=410,
        next=safe_next(next),
        error=_("This login attempt expired. Log in again."),
    )


def _step_query(method: str, next: str, resend_at: int = 0) -> dict[str, str]:
    """What the two-factor step needs in its URL to come back the same: the method, where
    the person goes afterwards, and when a new code may be sent."""
    query = {"method": method} if method else {}
    if safe_next(next) != "/":
        query["next"] = safe_next(next)
    if resend_at:
        query["resend_at"] = str(resend_at)
    return query


def _challenge_values(
    request: Request, ctx: Context, methods: list[str], method: str, next: str, resend_at: int = 0
) -> dict[str, Any]:
    """The page for `method`, or for the default method when that one is not offered."""
    method = method if method in methods else methods[0]
    wait = max(0, resend_at - int(ctx.clock.now().timestamp())) if resend_at else 0
    query = _step_query(method, next, resend_at if wait else 0)
    return {
        "method": method,
        "methods": methods,
        "next": safe_next(next),
        "sent": bool(resend_at),
        "resend_wait": wait,
        "wait_text": _wait_text(request, wait) if wait else "",
        # The language switch comes back here, also after a form was sent.
        "here": page_path(request, "challenge_page") + "?" + urlencode(query, safe="/"),
    }


def _wait_text(request: Request, seconds: int) -> str:
    _ = translator(request_locale(request))
    if seconds < 60:
        return _(
            "You can get a new code in %(count)s second.",
            "You can get a new code in %(count)s seconds.",
            seconds,
        )
    return _(
        "You can get a new code in %(count)s minute.",
        "You can get a new code in %(count)s minutes.",
        -(-seconds // 60),
    )


@router.get("/login/two-factor")
def challenge_page(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    method: str = "",
    next: str = "/",
    resend_at: int = 0,
) -> Response:
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    try:
        methods = service.challenge_methods(db, ctx, _challenge_token(request))
    except ChallengeExpired:
        return _start_over(request, viewer, next)
    values = _challenge_values(request, ctx, methods, method, next, resend_at)
    sent_to = _sent_to(request, values["method"]) if resend_at else None
    if sent_to:
        _ = translator(request_locale(request))
        values["notice"] = _("We sent a code to %(destination)s.", destination=sent_to)
    return render(request, "login/challenge.html", **values)


def _sent_to(request: Request, method: str) -> str | None:
    """The masked address the last code went to, when it went by `method`."""
    sent = unquote(request.cookies.get(cookie_name(request, SENT_COOKIE), ""))
    sent_method, _, masked = sent.partition(":")
    return masked if masked and sent_method == method else None


def _challenge_error(
    request: Request,
    viewer: SignedIn | None,
    db: Session,
    ctx: Context,
    method: str,
    next: str,
    error: MamoriError,
) -> Response:
    """The challenge page again with what went wrong, unless the login must start over."""
    try:
        methods = service.challenge_methods(db, ctx, _challenge_token(request))
    except ChallengeExpired:
        return _start_over(request, viewer, next)
    values = _challenge_values(request, ctx, methods, method, next)
    if isinstance(error, TooManyAttempts):
        # How long, in the person's words, not a second sentence glued on.
        wait = _try_again_text(request, error.retry_after_seconds)
        return render(request, "login/challenge.html", status_code=429, error=wait, **values)
    return render_with_error(request, "login/challenge.html", error, **values)


def _try_again_text(request: Request, seconds: int) -> str:
    _ = translator(request_locale(request))
    if seconds < 60:
        return _(
            "Too many tries: try again in %(count)s second.",
            "Too many tries: try again in %(count)s seconds.",
            seconds,
        )
    return _(
        "Too many tries: try again in %(count)s minute.",
        "Too many tries: try again in %(count)s minutes.",
        -(-seconds // 60),
    )


@router.get("/login/two-factor/methods")
def other_methods_page(
    request: Request, viewer: PageViewer, db: Db, ctx: Ctx, next: str = "/"
) -> Response:
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    try:
        methods = service.challenge_methods(db, ctx, _challenge_token(request))
    except ChallengeExpired:
        return _start_over(request, viewer, next)
    query = _step_query("", next)
    here = page_path(request, "other_methods_page")
    return render(
        request,
        "login/other_methods.html",
        methods=methods,
        next=safe_next(next),
        here=here + ("?" + urlencode(query, safe="/") if query else ""),
    )


@router.post("/login/two-factor/send", dependencies=[Depends(check_csrf)])
def send_login_code(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    method: str = Form(max_length=limits.MAX_METHOD),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    """Choosing text message or e-mail sends the code at once; the page then says when a
    new one may be asked for."""
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    token = _challenge_token(request)
    now = int(ctx.clock.now().timestamp())
    try:
        masked = service.send_login_code(
            db, ctx, origin, token, method, device=device_secret(request)
        )
    except ChallengeExpired:
        return _start_over(request, viewer, next)
    except TooManyAttempts as error:
        # Too soon: the step again, saying how long in one sentence; the code already
        # sent still works.
        resend_at = now + error.retry_after_seconds
        return redirect_to(request, "challenge_page", query=_step_query(method, next, resend_at))
    except MamoriError as error:
        return _challenge_error(request, viewer, db, ctx, method, next, error)
    # Back to the step by GET: Back, reload and the language switch find a page, not a
    # form to send again.
    resend_at = now + ctx.settings.security_code_resend_seconds
    response = redirect_to(request, "challenge_page", query=_step_query(method, next, resend_at))
    response.set_cookie(
        cookie_name(request, SENT_COOKIE),
        quote(f"{method}:{masked}"),
        max_age=ctx.settings.login_challenge_minutes * 60,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
        path="/",
    )
    return response


@router.post("/login/two-factor", dependencies=[Depends(check_csrf)])
def verify_code(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    method: str = Form(max_length=limits.MAX_METHOD),
    code: str = Form(max_length=limits.MAX_CODE),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    return _second_step(request, viewer, db, ctx, origin, method, code, next)


@router.post("/login/two-factor/passkey-options", dependencies=[Depends(check_csrf)])
def second_step_passkey_options(request: Request, db: Db, ctx: Ctx) -> Response:
    """For the two-factor step's script: this login's passkeys, bound to it."""
    options = service.second_step_passkey_options(db, ctx, _challenge_token(request))
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post("/login/two-factor/passkey", dependencies=[Depends(check_csrf)])
def verify_passkey(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    credential: str = Form(max_length=limits.MAX_CREDENTIAL),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    """A passkey as the second step: what the browser gave comes in `credential`."""
    if (onward := _go_on(viewer, next)) is not None:
        return onward
    return _second_step(request, viewer, db, ctx, origin, "passkey", credential, next)


def _second_step(
    request: Request,
    viewer: SignedIn | None,
    db: Session,
    ctx: Context,
    origin: Origin,
    method: str,
    answer: str,
    next: str,
) -> Response:
    token = _challenge_token(request)
    device = device_secret(request)
    try:
        result = service.verify_second_factor(db, ctx, origin, token, method, answer, device=device)
    except ChallengeExpired:
        return _start_over(request, viewer, next)
    except MamoriError as error:
        return _challenge_error(request, viewer, db, ctx, method, next, error)
    response = _after_login(request, result.session, _after_second_factor(request, result, next))
    set_device_cookie(request, response, device)
    for finished in (CHALLENGE_COOKIE, SENT_COOKIE):
        response.delete_cookie(
            cookie_name(request, finished),
            path="/",
            secure=is_https(request),
            httponly=True,
            samesite="lax",
        )
    set_session_cookie(request, response, result.session.token)
    return response


def _after_second_factor(request: Request, result: service.SecondFactorResult, next: str) -> str:
    """Where the person was going; after a backup code, first how many are left."""
    target = safe_next(next)
    if target == "/":
        target = page_path(request, "accounts_center")
    if result.backup_codes_left == 0:
        return page_path(request, "backup_codes_page") + "?last_used=1"
    if result.backup_codes_left is not None:
        query = urlencode({"next": target}, safe="/")
        return page_path(request, "backup_code_used_page") + "?" + query
    return target


@router.get("/login/backup-code-used")
def backup_code_used_page(request: Request, me: PageAccount, next: str = "/") -> Response:
    """The page after a backup-code login: how many codes are left, and a way on."""
    left = remaining_codes(me.db, me.user_id) or 0
    if left == 0:
        return redirect_to(request, "backup_codes_page")
    return render(request, "login/backup_code_used.html", left=left, next=safe_next(next))


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
