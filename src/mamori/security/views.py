"""Pages: security alerts, "Emails from mamori", "This wasn't me" and
the "set a new password" step it leads to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import RedirectResponse, Response

from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.notifications.links import PATH as WASNT_ME
from mamori.security import present
from mamori.security import service as security
from mamori.security.service import NEW_PASSWORD_PAGE, REVIEW_PAGE, SECURITY_PAGE
from mamori.sessions.http import WebCaller, WebCallerSettingPassword, clear_session_cookie
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.security import hide_secret_paths
from mamori.web.templating import check_csrf, error_text, render, request_locale

router = APIRouter(include_in_schema=False)
ALERTS_PAGE = f"{SECURITY_PAGE}/alerts"
EMAILS_PAGE = f"{SECURITY_PAGE}/emails"
Token = Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_TOKEN)

# The "This wasn't me" link is a bearer secret: the access log keeps the route only.
hide_secret_paths(WASNT_ME + "/")


def _to_login(page: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={page}", status_code=303)


@router.get(ALERTS_PAGE)
def alerts_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(ALERTS_PAGE)
    _ = translator(request_locale(request))
    with ctx.database.session() as db:
        events = security.security_alerts(db, caller.user_id)
    alerts = [
        (present.alert_view(e, _), security.wasnt_me_path(ctx, caller.user_id, e.id))
        for e in events
    ]
    return render(request, "security/alerts.html", alerts=alerts)


@router.get(EMAILS_PAGE)
def emails_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(EMAILS_PAGE)
    _ = translator(request_locale(request))
    with ctx.database.session() as db:
        messages = security.recent_messages(db, ctx, caller.user_id)
    return render(
        request,
        "security/emails.html",
        messages=[present.message_view(m, _) for m in messages],
        days=security.EMAILS_DAYS,
    )


def _no_referrer(response: Response) -> Response:
    # The link is a secret: it must not leave in a Referer header.
    response.headers["referrer-policy"] = "no-referrer"
    return response


def _link_problem(request: Request, error: MamoriError) -> Response:
    return _no_referrer(
        render(
            request,
            "security/wasnt_me.html",
            status_code=error.status,
            error=error_text(request, error),
            review_page=REVIEW_PAGE,
        )
    )


@router.get(WASNT_ME + "/{token}")
def wasnt_me_page(request: Request, ctx: Ctx, token: str = Token) -> Response:
    """Works without a session: the person may have lost theirs."""
    _ = translator(request_locale(request))
    try:
        with ctx.database.session() as db:
            _user, event, _claim = security.read_wasnt_me_link(db, ctx, token)
            alert = present.alert_view(event, _)
    except MamoriError as error:
        return _link_problem(request, error)
    return _no_referrer(render(request, "security/wasnt_me.html", alert=alert, token=token))


@router.post(WASNT_ME + "/{token}", dependencies=[Depends(check_csrf)])
def wasnt_me(request: Request, ctx: Ctx, origin: RequestOrigin, token: str = Token) -> Response:
    try:
        with ctx.database.session() as db:
            security.disown(db, ctx, origin, token)
    except MamoriError as error:
        return _link_problem(request, error)
    response = render(request, "security/secured.html", review_page=REVIEW_PAGE)
    clear_session_cookie(request, response)
    return _no_referrer(response)


@router.get(NEW_PASSWORD_PAGE)
def new_password_page(request: Request, caller: WebCallerSettingPassword) -> Response:
    if caller is None:
        return _to_login(NEW_PASSWORD_PAGE)
    if not caller.must_change_password:
        return RedirectResponse(f"{SECURITY_PAGE}/password", status_code=303)
    return render(request, "security/new_password.html")


@router.post(NEW_PASSWORD_PAGE, dependencies=[Depends(check_csrf)])
def set_new_password(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCallerSettingPassword,
    new_password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    if caller is None:
        return _to_login(NEW_PASSWORD_PAGE)
    try:
        with ctx.database.session() as db:
            security.set_required_password(db, ctx, origin, caller.session_id, new_password)
    except MamoriError as error:
        return render(
            request,
            "security/new_password.html",
            status_code=error.status,
            error=error_text(request, error),
        )
    return RedirectResponse(REVIEW_PAGE, status_code=303)
