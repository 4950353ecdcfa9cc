"""Pages: Accounts Center, Password and security, change password."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.accounts.service import get_user
from mamori.accounts_center import service
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.recovery.service import pending_recoveries
from mamori.sessions.http import WebCaller
from mamori.sessions.service import active_sessions
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, error_text, render, request_locale

router = APIRouter(include_in_schema=False)
CENTER = "/accounts/center"
SECURITY = f"{CENTER}/password-and-security"


def login_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={next_path}", status_code=303)


def _shortest_password(ctx: Context, user_id: int) -> int:
    with ctx.database.session() as db:
        return service.shortest_new_password(db, ctx, user_id)


@router.get(CENTER)
def accounts_center(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return login_redirect(CENTER)
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        recoveries = pending_recoveries(db, ctx, caller.user_id)
    return render(request, "accounts_center/center.html", user=user, recoveries=recoveries)


@router.get(SECURITY)
def password_and_security(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return login_redirect(SECURITY)
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        sessions = active_sessions(db, ctx.clock, ctx.settings, caller.user_id)
        recoveries = pending_recoveries(db, ctx, caller.user_id)
    return render(
        request,
        "accounts_center/password_and_security.html",
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
        "accounts_center/change_password.html",
        min_length=_shortest_password(ctx, caller.user_id),
    )


@router.post(f"{SECURITY}/password", dependencies=[Depends(check_csrf)])
def change_password(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    current_password: str = Form(max_length=limits.MAX_PASSWORD),
    new_password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    if caller is None:
        return login_redirect(f"{SECURITY}/password")
    try:
        with ctx.database.session() as db:
            user = get_user(db, caller.user_id)
            assert user is not None
            service.change_password(
                db,
                ctx,
                origin,
                user,
                current_password=current_password,
                new_password=new_password,
                session_id=caller.session_id,
            )
    except MamoriError as error:
        return render(
            request,
            "accounts_center/change_password.html",
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
