"""Pages of "Sign in with mamori": the authorization endpoint, the consent page, "log in
again", and the way back to the app."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import RedirectResponse, Response

from mamori.audit.service import Origin
from mamori.context import Context
from mamori.core.errors import InvalidRequest
from mamori.core.i18n import translator
from mamori.oidc import service
from mamori.oidc.apps import app_let_in, apps_let_in
from mamori.oidc.apps import remove_app as remove_app_now
from mamori.oidc.clients import disable_client, list_clients
from mamori.oidc.errors import OAuthError
from mamori.oidc.service import SCOPE_TEXTS
from mamori.sessions.http import SESSION_COOKIE, clear_session_cookie
from mamori.sessions.service import end_session as end_session_now
from mamori.sessions.service import find_session
from mamori.sessions.signed_in import (
    Db,
    PageAccount,
    PageViewer,
    RecentlyConfirmedPageAccount,
    SignedIn,
)
from mamori.support.errors import NotAnOperator
from mamori.support.service import require_operator
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import (
    check_csrf,
    cookie_name,
    page_path,
    redirect_to,
    render,
    request_locale,
)

router = APIRouter(include_in_schema=False)
AUTHORIZE = "/oauth/authorize"


def _continue_path(request: Request, token: str) -> str:
    return page_path(request, "continue_authorization") + "?" + urlencode({"request": token})


def _answer(
    request: Request,
    db: Db,
    ctx: Context,
    origin: Origin,
    pending: service.Pending,
    viewer: SignedIn | None,
    *,
    straight: bool,
) -> Response:
    """The page for the step the request is at, or the way back to the app.

    `straight`: a redirect is fine. After a form (the login, the consent page) the way
    back is a page that moves on by itself: browsers apply the form's CSP `form-action`
    to where its answer redirects, and mamori's allows only itself."""
    step = service.decide(db, ctx, origin, pending, viewer.session if viewer else None)
    if step.step == service.LOG_IN:
        query = {"next": _continue_path(request, pending.token)}
        return redirect_to(request, "login_page", query=query)
    if step.step == service.LOG_IN_AGAIN:
        return render(
            request, "oidc/log_in_again.html", app=pending.client.name, request_token=pending.token
        )
    if step.step == service.CONSENT:
        assert viewer is not None
        return render(
            request,
            "oidc/consent.html",
            app=pending.client.name,
            scopes=service.scopes_shown(pending.parameters.scope),
            username=viewer.user.username,
            request_token=pending.token,
        )
    assert step.redirect is not None
    return _back_to_app(request, pending.client.name, step.redirect, straight=straight)


def _back_to_app(request: Request, app: str, url: str, *, straight: bool) -> Response:
    if straight:
        return RedirectResponse(url, status_code=303)
    return render(request, "oidc/returning.html", app=app, url=url)


@router.get(AUTHORIZE)
def authorize(
    request: Request, viewer: PageViewer, db: Db, ctx: Ctx, origin: RequestOrigin
) -> Response:
    """The authorization endpoint (RFC 6749 §3.1): an app sends the person here."""
    query = dict(request.query_params)
    # An unknown app or a redirect URI it did not register: told to the person (an
    # error page), never sent to an address nobody vouched for.
    client, redirect_uri = service.check_client_and_redirect(db, query)
    names = [name for name, _ in request.query_params.multi_items()]
    try:
        if len(names) != len(set(names)):  # RFC 6749 §3.1: none may be sent twice
            raise service.refused("invalid_request", "A parameter was sent more than once")
        parameters = service.check_parameters(query, redirect_uri)
    except OAuthError as error:
        state = query.get("state")
        url = service.error_redirect(ctx, redirect_uri, error, state[:1024] if state else None)
        return RedirectResponse(url, status_code=303)
    token = service.save_request(db, ctx, client, parameters, viewer.session if viewer else None)
    pending = service.open_request(db, ctx, token)
    return _answer(request, db, ctx, origin, pending, viewer, straight=True)


# The most a POSTed request may carry on to the GET: what a URL reliably holds.
MAX_POSTED_REQUEST = 8192


@router.post(AUTHORIZE)
async def authorize_by_post(request: Request) -> Response:
    """OpenID Connect Core §3.1.2.1: the authorization endpoint takes POST as well as GET.
    The same request goes on as a GET: an app's form posts from its own site, and the
    browser keeps mamori's SameSite=Lax cookies off such a POST, so only the GET can see
    that the person is already logged in (and answer `prompt=none` truthfully)."""
    form = await request.form(max_files=0, max_fields=64)
    query = urlencode([(k, v) for k, v in form.multi_items() if isinstance(v, str)])
    if len(query) > MAX_POSTED_REQUEST:
        raise InvalidRequest(
            "This sign-in request is too long. Go back to the app and start again."
        )
    return RedirectResponse(page_path(request, "authorize") + "?" + query, status_code=303)


@router.get(f"{AUTHORIZE}/continue")
def continue_authorization(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    request_token: str = Query("", alias="request", max_length=limits.MAX_TOKEN),
) -> Response:
    """Back from the login pages: the same request goes on."""
    pending = service.open_request(db, ctx, request_token)
    return _answer(request, db, ctx, origin, pending, viewer, straight=False)


@router.post(f"{AUTHORIZE}/continue", dependencies=[Depends(check_csrf)])
def answer_consent(
    request: Request,
    me: PageAccount,
    request_token: str = Form(alias="request", max_length=limits.MAX_TOKEN),
    decision: str = Form(max_length=limits.MAX_CHOICE),
) -> Response:
    """ "Allow" or "Cancel" on the consent page."""
    pending = service.open_request(me.db, me.ctx, request_token)
    if decision != "allow":
        url = service.cancel(me.db, me.ctx, me.origin, pending, me.user)
        return _back_to_app(request, pending.client.name, url, straight=False)
    step = service.decide(me.db, me.ctx, me.origin, pending, me.session, consent_given=True)
    if step.redirect is None:  # the session is no longer fresh enough: the page again
        return redirect_to(request, "continue_authorization", query={"request": request_token})
    return _back_to_app(request, pending.client.name, step.redirect, straight=False)


@router.post(f"{AUTHORIZE}/log-in-again", dependencies=[Depends(check_csrf)])
def log_in_again(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    request_token: str = Form(alias="request", max_length=limits.MAX_TOKEN),
) -> Response:
    """The app asked for a fresh login: this browser's mamori session ends (so the login
    pages ask for the password and the second factor again), then the request goes on."""
    pending = service.open_request(db, ctx, request_token)
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    session = find_session(db, ctx.clock, ctx.settings, token, origin)
    if session is not None:
        end_session_now(db, ctx.clock, origin, session)
    query = {"next": _continue_path(request, pending.token)}
    response = redirect_to(request, "login_page", query=query)
    clear_session_cookie(request, response)
    return response


@router.get("/oauth/logout")
def end_session(
    request: Request,
    viewer: PageViewer,
    db: Db,
    ctx: Ctx,
    id_token_hint: str = Query("", max_length=8192),
    client_id: str = Query("", max_length=limits.MAX_TOKEN),
    post_logout_redirect_uri: str = Query("", max_length=2000),
    state: str = Query("", max_length=1024),
) -> Response:
    """RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): the person is asked
    first, so a link alone cannot log anyone out."""
    back = service.logout_return(db, ctx, id_token_hint, client_id, post_logout_redirect_uri, state)
    if viewer is None:
        if back is not None:
            return RedirectResponse(back.url, status_code=303)
        return render(request, "oidc/logged_out.html", app=None)
    return render(
        request,
        "oidc/log_out.html",
        app=back.app if back else None,
        id_token_hint=id_token_hint,
        client_id=client_id,
        post_logout_redirect_uri=post_logout_redirect_uri,
        state=state,
    )


@router.post("/oauth/logout", dependencies=[Depends(check_csrf)])
def confirm_end_session(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    id_token_hint: str = Form("", max_length=8192),
    client_id: str = Form("", max_length=limits.MAX_TOKEN),
    post_logout_redirect_uri: str = Form("", max_length=2000),
    state: str = Form("", max_length=1024),
) -> Response:
    back = service.logout_return(db, ctx, id_token_hint, client_id, post_logout_redirect_uri, state)
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE), "")
    session = find_session(db, ctx.clock, ctx.settings, token, origin)
    if session is not None:
        end_session_now(db, ctx.clock, origin, session)
    response = (
        _back_to_app(request, back.app, back.url, straight=False)
        if back is not None
        else render(request, "oidc/logged_out.html", app=None)
    )
    clear_session_cookie(request, response)
    return response


APPS = "/accounts/center/apps-and-websites"


@router.get(APPS)
def apps_page(request: Request, me: PageAccount, removed: str = "") -> Response:
    """Accounts Center → Apps and websites: what each app can see, when it last used it."""
    apps = apps_let_in(me.db, me.user_id)
    return render(
        request,
        "oidc/apps.html",
        apps=apps,
        scope_texts=SCOPE_TEXTS,
        removed=service.app_name(me.db, removed[: limits.MAX_TOKEN]) if removed else None,
    )


@router.get(APPS + "/{client_id}/remove")
def remove_app_page(request: Request, me: PageAccount, client_id: str) -> Response:
    """Asks first: what removing the app does."""
    app = app_let_in(me.db, me.user_id, client_id[: limits.MAX_TOKEN])
    return render(request, "oidc/remove_app.html", app=app)


@router.post(APPS + "/{client_id}/remove", dependencies=[Depends(check_csrf)])
def remove_app(request: Request, me: PageAccount, client_id: str) -> Response:
    app = app_let_in(me.db, me.user_id, client_id[: limits.MAX_TOKEN])
    remove_app_now(me.db, me.ctx, me.origin, me.user_id, app.client_id)
    return redirect_to(request, "apps_page", query={"removed": app.client_id})


OPERATOR_APPS = "/operator/apps"


def _operators_only(request: Request) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "message.html",
        status_code=NotAnOperator.status,
        heading=_("This page is for operators only"),
        message=_("Only operators can see the apps registered with mamori."),
        back=page_path(request, "accounts_center"),
    )


@router.get(OPERATOR_APPS)
def operator_apps_page(request: Request, me: PageAccount) -> Response:
    """The operator's view of `mamori clients list`: every app, never a secret."""
    try:
        require_operator(me.db, me.user)
    except NotAnOperator:
        return _operators_only(request)
    return render(request, "oidc/operator_apps.html", clients=list_clients(me.db))


@router.post(OPERATOR_APPS + "/{client_id}/disable", dependencies=[Depends(check_csrf)])
def operator_disable_app(
    request: Request, me: RecentlyConfirmedPageAccount, client_id: str
) -> Response:
    """Turn an app off: it can sign no one in, and its tokens stop working."""
    try:
        require_operator(me.db, me.user)
    except NotAnOperator:
        return _operators_only(request)
    disable_client(me.db, me.ctx, me.origin, client_id[: limits.MAX_TOKEN])
    return redirect_to(request, "operator_apps_page")
