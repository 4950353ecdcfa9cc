"""Pages: "Can't log in?" from the login page to a new password, and "This wasn't me"."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.recovery import service
from mamori.recovery.errors import RecoveryExpired
from mamori.sessions.http import device_secret
from mamori.sessions.signed_in import Db, PageAccount
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.security import hide_secret_paths
from mamori.web.templating import (
    check_csrf,
    cookie_name,
    error_text,
    is_https,
    page_path,
    redirect_to,
    render,
    render_with_error,
    request_locale,
    safe_next,
)

router = APIRouter(include_in_schema=False)
RECOVERY_COOKIE = "mamori_recovery"
# Where the person was going when they could not log in (an app's sign-in under way): the
# done page's "Log in" goes on there. Only ever a local path, checked when it is read.
RETURN_COOKIE = "mamori_recovery_return"
CANCEL_LINK = "/recovery/cancel/"

hide_secret_paths(CANCEL_LINK)


def recovery_token(request: Request) -> str:
    return request.cookies.get(cookie_name(request, RECOVERY_COOKIE), "")


def set_recovery_cookie(
    request: Request, response: Response, token: str, seconds: int, name: str = RECOVERY_COOKIE
) -> None:
    response.set_cookie(
        cookie_name(request, name),
        token,
        max_age=seconds,
        httponly=True,
        secure=is_https(request),
        samesite="lax",
        path="/",
    )


def _start_over(request: Request) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "recovery/start.html",
        status_code=410,
        error=_("This recovery expired. Start again."),
    )


def _status(request: Request, db: Session, ctx: Context) -> service.RecoveryStatus:
    return service.recovery_status(db, ctx, recovery_token(request))


def _step_page(
    request: Request,
    db: Session,
    ctx: Context,
    template: str,
    error: MamoriError | None = None,
    **values: Any,
) -> Response:
    """A step of the recovery, with where it stands (and what went wrong, if anything)."""
    try:
        found = _status(request, db, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if error is not None:
        return render_with_error(request, template, error, status=found, **values)
    return render(request, template, status=found, **values)


def _next_page(found: service.RecoveryStatus) -> str:
    """The route name of the step that comes next."""
    if found.state != "open":
        return "done_page"
    if found.ready:
        return "recovery_new_password_page"
    if found.two_factor is not None:
        return "more_page"
    return "options_page"


@router.get("/recovery")
def start_page(request: Request, next: str = Query("/", max_length=limits.MAX_NEXT)) -> Response:
    return render(request, "recovery/start.html", next=safe_next(next))


@router.post("/recovery", dependencies=[Depends(check_csrf)])
def start(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    login: str = Form(max_length=limits.MAX_LOGIN),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    try:
        started = service.start_recovery(
            db, ctx, origin, login=login, device=device_secret(request)
        )
    except MamoriError as error:
        return render_with_error(
            request, "recovery/start.html", error, login=login, next=safe_next(next)
        )
    response = redirect_to(request, "options_page")
    seconds = ctx.settings.recovery_attempt_hours * 3600
    set_recovery_cookie(request, response, started.token, seconds)
    _remember_where_to_return(request, response, safe_next(next), seconds)
    return response


def _remember_where_to_return(
    request: Request, response: Response, target: str, seconds: int
) -> None:
    if target == "/":  # a recovery started on its own: forget an earlier one's place
        response.delete_cookie(cookie_name(request, RETURN_COOKIE), path="/")
        return
    set_recovery_cookie(request, response, target, seconds, name=RETURN_COOKIE)


@router.get("/recovery/next")
def next_step(request: Request, ctx: Ctx, db: Db) -> Response:
    try:
        return redirect_to(request, _next_page(_status(request, db, ctx)))
    except RecoveryExpired:
        return _start_over(request)


@router.get("/recovery/options")
def options_page(request: Request, ctx: Ctx, db: Db) -> Response:
    return _step_page(request, db, ctx, "recovery/options.html")


@router.post("/recovery/send", dependencies=[Depends(check_csrf)])
def send_recovery_code(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    option: str = Form(max_length=limits.MAX_CHOICE),
) -> Response:
    _ = translator(request_locale(request))
    token = recovery_token(request)
    try:
        sent = service.send_recovery_code(db, ctx, origin, token, option)
        found = service.recovery_status(db, ctx, token)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, db, ctx, error)
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
def code_page(request: Request, ctx: Ctx, db: Db, option: str = "email") -> Response:
    return _step_page(request, db, ctx, "recovery/code.html", option=option)


@router.post("/recovery/code", dependencies=[Depends(check_csrf)])
def enter_recovery_code(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    option: str = Form(max_length=limits.MAX_CHOICE),
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    token = recovery_token(request)
    try:
        found = service.prove_with_code(db, ctx, origin, token, option, code)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _step_page(request, db, ctx, "recovery/code.html", error, option=option)
    return redirect_to(request, _next_page(found))


# The second proofs the chooser offers, each on a form of its own.
WAYS = ("passkey", "backup_code", "totp", "password")


def _more_values(ctx: Context, found: service.RecoveryStatus, way: str | None) -> dict[str, Any]:
    """The chooser (no way yet), or the one way chosen; with how long the password path
    waits, from the settings."""
    chosen = way if way in WAYS and way in found.next_proofs else None
    return {"way": chosen, "holding_hours": ctx.settings.recovery_holding_hours}


@router.get("/recovery/more")
def more_page(request: Request, ctx: Ctx, db: Db, way: str | None = None) -> Response:
    try:
        found = _status(request, db, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if found.two_factor is None or found.ready:
        return redirect_to(request, _next_page(found))
    return render(request, "recovery/more.html", status=found, **_more_values(ctx, found, way))


@router.post("/recovery/password", dependencies=[Depends(check_csrf)])
def prove_password(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    try:
        found = service.prove_with_password(db, ctx, origin, recovery_token(request), password)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, db, ctx, error, way="password")
    return redirect_to(request, _next_page(found))


@router.post("/recovery/second-factor", dependencies=[Depends(check_csrf)])
def prove_second_factor(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    method: str = Form(max_length=limits.MAX_METHOD),
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    token = recovery_token(request)
    try:
        found = service.prove_with_second_factor(db, ctx, origin, token, method, code)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, db, ctx, error, way=method)
    return redirect_to(request, _next_page(found))


@router.post("/recovery/passkey-options", dependencies=[Depends(check_csrf)])
def recovery_passkey_options(request: Request, ctx: Ctx, db: Db) -> Response:
    """For the page's script: options for a passkey as the second proof."""
    options = service.recovery_passkey_options(db, ctx, recovery_token(request))
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post("/recovery/passkey", dependencies=[Depends(check_csrf)])
def prove_with_passkey(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    credential: str = Form(max_length=limits.MAX_CREDENTIAL),
) -> Response:
    token = recovery_token(request)
    try:
        found = service.prove_with_second_factor(db, ctx, origin, token, "passkey", credential)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _page_with_error(request, db, ctx, error, way="passkey")
    return redirect_to(request, _next_page(found))


def _page_with_error(
    request: Request, db: Session, ctx: Context, error: MamoriError, way: str | None = None
) -> Response:
    """The page the person is on (the way of the second proof they chose, or the first
    proof), again, with the error."""
    try:
        found = _status(request, db, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if found.two_factor is None:
        return _step_page(request, db, ctx, "recovery/options.html", error)
    values = _more_values(ctx, found, way)
    return _step_page(request, db, ctx, "recovery/more.html", error, **values)


@router.get("/recovery/new-password")
def recovery_new_password_page(request: Request, ctx: Ctx, db: Db) -> Response:
    try:
        found = _status(request, db, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if not found.ready or found.state != "open":
        return redirect_to(request, _next_page(found))
    return render(request, "recovery/new_password.html", status=found)


@router.post("/recovery/new-password", dependencies=[Depends(check_csrf)])
def set_recovery_password(
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    new_password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    try:
        service.complete_recovery(db, ctx, origin, recovery_token(request), new_password)
    except RecoveryExpired:
        return _start_over(request)
    except MamoriError as error:
        return _step_page(request, db, ctx, "recovery/new_password.html", error)
    return redirect_to(request, "done_page")


@router.get("/recovery/done")
def done_page(request: Request, ctx: Ctx, db: Db) -> Response:
    try:
        found = _status(request, db, ctx)
    except RecoveryExpired:
        return _start_over(request)
    if found.state == "open":
        return redirect_to(request, _next_page(found))
    # Straight back to where the person was going once the new password works now; a
    # recovery that waits ends long after the app stopped waiting for them.
    back_to = safe_next(request.cookies.get(cookie_name(request, RETURN_COOKIE)))
    return render(
        request,
        "recovery/done.html",
        status=found,
        back_to=back_to if found.state == "completed" else "/",
    )


def _no_referrer(response: Response) -> Response:
    # The path carries the cancel secret: it must not leak to any other page.
    response.headers["referrer-policy"] = "no-referrer"
    return response


def _not_cancelled(request: Request, error: MamoriError) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "message.html",
        status_code=error.status,
        heading=_("Cancel a recovery"),
        message=error_text(request, error),
        back=page_path(request, "password_and_security"),
    )


@router.get(CANCEL_LINK + "{cancel_token}")
def cancel_page(request: Request, cancel_token: str) -> Response:
    return _no_referrer(render(request, "recovery/cancel.html", cancel_token=cancel_token[:128]))


@router.post(CANCEL_LINK + "{cancel_token}", dependencies=[Depends(check_csrf)])
def cancel_by_link(
    request: Request, ctx: Ctx, db: Db, origin: RequestOrigin, cancel_token: str
) -> Response:
    _ = translator(request_locale(request))
    try:
        service.cancel_by_link(db, ctx, origin, cancel_token)
    except MamoriError as error:
        return _no_referrer(_not_cancelled(request, error))
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
            back=page_path(request, "security_review"),
        )
    )


@router.post("/accounts/center/recoveries/{recovery_id}/cancel", dependencies=[Depends(check_csrf)])
def cancel_by_owner(request: Request, me: PageAccount, recovery_id: str) -> Response:
    _ = translator(request_locale(request))
    try:
        service.cancel_by_owner(me.db, me.ctx, me.origin, me.user_id, recovery_id)
    except MamoriError as error:
        return _not_cancelled(request, error)
    return render(
        request,
        "message.html",
        heading=_("Recovery cancelled"),
        message=_(
            "The recovery was cancelled: your password and two-factor settings stay as "
            "they were. Someone may know your password or read your e-mail: review your "
            "security."
        ),
        back=page_path(request, "security_review"),
    )
