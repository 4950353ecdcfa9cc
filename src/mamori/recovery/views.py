"""Pages: "Can't log in?" from the login page to a new password, and "This wasn't me"."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.recovery import service
from mamori.recovery.errors import RecoveryExpired
from mamori.sessions.http import WebCaller, device_secret
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.security import hide_secret_paths
from mamori.web.templating import (
    check_csrf,
    cookie_name,
    error_text,
    is_https,
    render,
    request_locale,
)

router = APIRouter(include_in_schema=False)
RECOVERY_COOKIE = "mamori_recovery"
REVIEW = "/accounts/center/security-review"
CANCEL_LINK = "/recovery/cancel/"

hide_secret_paths(CANCEL_LINK)
SECURITY = "/accounts/center/password-and-security"


def recovery_token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, RECOVERY_COOKIE), "")


def set_recovery_cookie(request: Request, response: Response, token: str, seconds: int) -> None:
    response.set_cookie(
        cookie_name(request, RECOVERY_COOKIE),
        token,
        max_age=seconds,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
        path="/",
    )


def _go(path: str) -> RedirectResponse:
    return RedirectResponse(path, status_code=303)


def _start_over(request: Request) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "recovery/start.html",
        status_code=410,
        error=_("This recovery expired. Start again."),
    )


def _status(request: Request, ctx: Ctx) -> service.RecoveryStatus:
    with ctx.database.session() as db:
        return service.recovery_status(db, ctx, recovery_token(request))


def _step_page(
    request: Request,
    ctx: Ctx,
    template: str,
    error: MamoriError | None = None,
    **values: Any,
) -> Response:
    """A step of the recovery, with where it stands (and what went wrong, if anything)."""
    try:
        found = _status(request, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if error is not None:
        values.update(status_code=error.status, error=error_text(request, error))
    return render(request, template, status=found, **values)


def _next_page(found: service.RecoveryStatus) -> str:
    if found.state != "open":
        return "/recovery/done"
    if found.ready:
        return "/recovery/new-password"
    if found.two_factor is not None:
        return "/recovery/more"
    return "/recovery/options"


@router.get("/recovery")
def start_page(request: Request) -> Response:
    return render(request, "recovery/start.html")


@router.post("/recovery", dependencies=[Depends(check_csrf)])
def start(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    login: str = Form(max_length=limits.MAX_LOGIN),
) -> Response:
    try:
        with ctx.database.session() as db:
            started = service.start_recovery(
                db, ctx, origin, login=login, device=device_secret(request)
            )
    except MamoriError as error:
        return render(
            request,
            "recovery/start.html",
            status_code=error.status,
            error=error_text(request, error),
            login=login,
        )
    response = _go("/recovery/options")
    set_recovery_cookie(
        request, response, started.token, ctx.settings.recovery_attempt_hours * 3600
    )
    return response


@router.get("/recovery/next")
def next_step(request: Request, ctx: Ctx) -> Response:
    try:
        return _go(_next_page(_status(request, ctx)))
    except RecoveryExpired:
        return _start_over(request)


@router.get("/recovery/options")
def options_page(request: Request, ctx: Ctx) -> Response:
    return _step_page(request, ctx, "recovery/options.html")


@router.post("/recovery/send", dependencies=[Depends(check_csrf)])
def send_recovery_code(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    option: str = Form(max_length=limits.MAX_CHOICE),
) -> Response:
    _ = translator(request_locale(request))
    token = recovery_token(request)
    try:
        with ctx.database.session() as db:
            sent = service.send_recovery_code(db, ctx, origin, token, option)
            found = service.recovery_status(db, ctx, token)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, ctx, error)
    return render(
        request,
        "recovery/code.html",
        status=found,
        option=option,
        notice=_(
            "If an account matches, we sent a code to %(destination)s.",
            destination=sent.destination,
        ),
    )


@router.get("/recovery/code")
def code_page(request: Request, ctx: Ctx, option: str = "email") -> Response:
    return _step_page(request, ctx, "recovery/code.html", option=option)


@router.post("/recovery/code", dependencies=[Depends(check_csrf)])
def enter_recovery_code(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    option: str = Form(max_length=limits.MAX_CHOICE),
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    token = recovery_token(request)
    try:
        with ctx.database.session() as db:
            found = service.prove_with_code(db, ctx, origin, token, option, code)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _step_page(request, ctx, "recovery/code.html", error, option=option)
    return _go(_next_page(found))


@router.get("/recovery/more")
def more_page(request: Request, ctx: Ctx) -> Response:
    try:
        found = _status(request, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if found.two_factor is None or found.ready:
        return _go(_next_page(found))
    return render(request, "recovery/more.html", status=found)


@router.post("/recovery/password", dependencies=[Depends(check_csrf)])
def prove_password(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    try:
        with ctx.database.session() as db:
            found = service.prove_with_password(db, ctx, origin, recovery_token(request), password)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, ctx, error)
    return _go(_next_page(found))


@router.post("/recovery/second-factor", dependencies=[Depends(check_csrf)])
def prove_second_factor(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    method: str = Form(max_length=limits.MAX_METHOD),
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    token = recovery_token(request)
    try:
        with ctx.database.session() as db:
            found = service.prove_with_second_factor(db, ctx, origin, token, method, code)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, ctx, error)
    return _go(_next_page(found))


def _page_with_error(request: Request, ctx: Ctx, error: MamoriError) -> Response:
    """The page the person is on (the second proof, or the first), again, with the error."""
    try:
        proven = _status(request, ctx).two_factor is not None
    except RecoveryExpired:
        return _start_over(request)
    template = "recovery/more.html" if proven else "recovery/options.html"
    return _step_page(request, ctx, template, error)


@router.get("/recovery/new-password")
def recovery_new_password_page(request: Request, ctx: Ctx) -> Response:
    try:
        found = _status(request, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if not found.ready or found.state != "open":
        return _go(_next_page(found))
    return render(request, "recovery/new_password.html", status=found)


@router.post("/recovery/new-password", dependencies=[Depends(check_csrf)])
def set_recovery_password(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    new_password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    try:
        with ctx.database.session() as db:
            service.complete_recovery(db, ctx, origin, recovery_token(request), new_password)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _step_page(request, ctx, "recovery/new_password.html", error)
    return _go("/recovery/done")


@router.get("/recovery/done")
def done_page(request: Request, ctx: Ctx) -> Response:
    try:
        found = _status(request, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if found.state == "open":
        return _go(_next_page(found))
    return render(request, "recovery/done.html", status=found, review=REVIEW)


def _no_referrer(response: Response) -> Response:
    # The path carries the cancel secret: it must not leak to any other page.
    response.headers["referrer-policy"] = "no-referrer"
    return response


@router.get(CANCEL_LINK + "{cancel_token}")
def cancel_page(request: Request, cancel_token: str) -> Response:
    return _no_referrer(render(request, "recovery/cancel.html", cancel_token=cancel_token[:128]))


@router.post(CANCEL_LINK + "{cancel_token}", dependencies=[Depends(check_csrf)])
def cancel_by_link(
    request: Request, ctx: Ctx, origin: RequestOrigin, cancel_token: str
) -> Response:
    _ = translator(request_locale(request))
    try:
        with ctx.database.session() as db:
            service.cancel_by_link(db, ctx, origin, cancel_token)
    except MamoriError as error:
        return _no_referrer(
            render(
                request,
                "message.html",
                status_code=error.status,
                heading=_("Cancel a recovery"),
                message=error_text(request, error),
                back=SECURITY,
            )
        )
    return _no_referrer(
        render(
            request,
            "message.html",
            heading=_("Recovery cancelled"),
            message=_(
                "The recovery was cancelled: your password and two-factor settings stay as "
                "they were. Someone may know your password or read your e-mail: log in and "
                "review your security."
            ),
            back=REVIEW,
        )
    )


@router.post("/accounts/center/recoveries/{recovery_id}/cancel", dependencies=[Depends(check_csrf)])
def cancel_by_owner(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller, recovery_id: str
) -> Response:
    if caller is None:
        return _go(f"/login?next={SECURITY}")
    _ = translator(request_locale(request))
    try:
        with ctx.database.session() as db:
            service.cancel_by_owner(db, ctx, origin, caller.user_id, recovery_id)
    except MamoriError as error:
        return render(
            request,
            "message.html",
            status_code=error.status,
            heading=_("Cancel a recovery"),
            message=error_text(request, error),
            back=SECURITY,
        )
    return render(
        request,
        "message.html",
        heading=_("Recovery cancelled"),
        message=_(
            "The recovery was cancelled: your password and two-factor settings stay as "
            "they were. Someone may know your password or read your e-mail: review your "
            "security."
        ),
        back=REVIEW,
    )
