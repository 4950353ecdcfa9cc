"""Pages: sign up, Accounts Center, Password and security, change password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.accounts import service
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.recovery.service import pending_recoveries
from mamori.security.service import secure_new_session
from mamori.sessions.http import WebCaller, device_secret, set_device_cookie, set_session_cookie
from mamori.sessions.models import LoginSession
from mamori.sessions.service import active_sessions, end_other_sessions, start_session
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, error_text, render, request_locale

router = APIRouter(include_in_schema=False)
CENTER = "/accounts/center"
SECURITY = f"{CENTER}/password-and-security"


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={next_path}", status_code=303)


def _shortest_password(ctx: Context, user_id: int | None) -> int:
    with ctx.database.session() as db:
        return service.minimum_password_length(db, ctx, user_id)


@router.get("/signup")
def sign_up_page(request: Request, ctx: Ctx) -> Response:
    return render(
        request, "accounts/signup.html", form={}, min_length=_shortest_password(ctx, None)
    )


@router.post("/signup", dependencies=[Depends(check_csrf)])
def sign_up(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    username: str = Form(max_length=30),
    password: str = Form(max_length=4096),
    email: str = Form("", max_length=254),
    phone: str = Form("", max_length=32),
) -> Response:
    form = {"username": username, "email": email, "phone": phone}
    device = device_secret(request)
    try:
        with ctx.database.session() as db:
            user = service.sign_up(
                db,
                ctx,
                origin,
                username=username,
                password=password,
                email=email or None,
                phone=phone or None,
                locale=request_locale(request),
            )
            new_session = start_session(db, ctx.clock, ctx.settings, origin, user.id, "web")
            # This browser is the account's first known device: no "new device" alert later.
            secure_new_session(db, ctx, origin, user, new_session.session, device)
    except MamoriError as error:
        return render(
            request,
            "accounts/signup.html",
            status_code=error.status,
            error=error_text(request, error),
            form=form,
            min_length=_shortest_password(ctx, None),
        )
    response = RedirectResponse(CENTER, status_code=303)
    set_session_cookie(request, response, new_session.token)
    set_device_cookie(request, response, device)
    return response


@router.get(CENTER)
def accounts_center(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return login_redirect(CENTER)
    with ctx.database.session() as db:
        user = service.get_user(db, caller.user_id)
        recoveries = pending_recoveries(db, ctx, caller.user_id)
    return render(request, "accounts/center.html", user=user, recoveries=recoveries)


@router.get(SECURITY)
def password_and_security(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return login_redirect(SECURITY)
    with ctx.database.session() as db:
        user = service.get_user(db, caller.user_id)
        sessions = active_sessions(db, ctx.clock, ctx.settings, caller.user_id)
        recoveries = pending_recoveries(db, ctx, caller.user_id)
    return render(
        request,
        "accounts/password_and_security.html",
        user=user,
        session_count=len(sessions),
        recoveries=recoveries,
    )


@router.get(f"{SECURITY}/password")
def change_password_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return login_redirect(f"{SECURITY}/password")
    return render(
        request,
        "accounts/change_password.html",
        min_length=_shortest_password(ctx, caller.user_id),
    )


@router.post(f"{SECURITY}/password", dependencies=[Depends(check_csrf)])
def change_password(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    current_password: str = Form(max_length=4096),
    new_password: str = Form(max_length=4096),
) -> Response:
    if caller is None:
        return login_redirect(f"{SECURITY}/password")
    try:
        with ctx.database.session() as db:
            user = service.get_user(db, caller.user_id)
            assert user is not None
            service.change_password(
                db, ctx, origin, user, current_password=current_password, new_password=new_password
            )
            end_other_sessions(
                db, ctx.clock, origin, user.id, db.get(LoginSession, caller.session_id)
            )
    except MamoriError as error:
        return render(
            request,
            "accounts/change_password.html",
            status_code=error.status,
            error=error_text(request, error),
            min_length=_shortest_password(ctx, caller.user_id),
        )
    _ = translator(request_locale(request))
    return render(
        request,
        "message.html",
        heading=_("Password changed"),
        message=_("Your password was changed and your other sessions were logged out."),
        back=SECURITY,
    )
