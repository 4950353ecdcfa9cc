"""Pages: security alerts, "Emails from mamori", "This wasn't me" and
the "set a new password" step it leads to."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import Response

from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.notifications.links import PATH as WASNT_ME
from mamori.security import present
from mamori.security import service as security
from mamori.security.service import NEW_PASSWORD_PAGE, SECURITY_PAGE
from mamori.sessions.http import clear_session_cookie
from mamori.sessions.signed_in import Db, PageAccount, PageAccountSettingPassword
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.security import hide_secret_paths
from mamori.web.templating import (
    check_csrf,
    redirect_to,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
ALERTS_PAGE = f"{SECURITY_PAGE}/alerts"
EMAILS_PAGE = f"{SECURITY_PAGE}/emails"
Token = Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_TOKEN)

# The "This wasn't me" link is a bearer secret: the access log keeps the route only.
hide_secret_paths(WASNT_ME + "/")


@router.get(ALERTS_PAGE)
def alerts_page(request: Request, me: PageAccount) -> Response:
    _ = translator(request_locale(request))
    events = security.security_alerts(me.db, me.user_id)
    alerts = [
        (present.alert_view(e, _), security.wasnt_me_path(me.ctx, me.user_id, e.id)) for e in events
    ]
    return render(request, "security/alerts.html", alerts=alerts)


@router.get(EMAILS_PAGE)
def emails_page(request: Request, me: PageAccount) -> Response:
    _ = translator(request_locale(request))
    messages = security.recent_messages(me.db, me.ctx, me.user_id)
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
    return _no_referrer(render_with_error(request, "security/wasnt_me.html", error))


@router.get(WASNT_ME + "/{token}")
def wasnt_me_page(request: Request, db: Db, ctx: Ctx, token: str = Token) -> Response:
    """Works without a session: the person may have lost theirs."""
    _ = translator(request_locale(request))
    try:
        _user, event, _claim = security.read_wasnt_me_link(db, ctx, token)
        alert = present.alert_view(event, _)
    except MamoriError as error:
        return _link_problem(request, error)
    return _no_referrer(render(request, "security/wasnt_me.html", alert=alert, token=token))


@router.post(WASNT_ME + "/{token}", dependencies=[Depends(check_csrf)])
def wasnt_me(
    request: Request, db: Db, ctx: Ctx, origin: RequestOrigin, token: str = Token
) -> Response:
    try:
        security.disown(db, ctx, origin, token)
    except MamoriError as error:
        return _link_problem(request, error)
    response = render(request, "security/secured.html")
    clear_session_cookie(request, response)
    return _no_referrer(response)


@router.get(NEW_PASSWORD_PAGE)
def new_password_page(request: Request, me: PageAccountSettingPassword) -> Response:
    if not me.session.must_change_password:
        return redirect_to(request, "change_password_page")
    return render(request, "security/new_password.html")


@router.post(NEW_PASSWORD_PAGE, dependencies=[Depends(check_csrf)])
def set_new_password(
    request: Request,
    me: PageAccountSettingPassword,
    new_password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    try:
        security.set_required_password(me.db, me.ctx, me.origin, me.session_id, new_password)
    except MamoriError as error:
        return render_with_error(request, "security/new_password.html", error)
    return redirect_to(request, "security_review")
