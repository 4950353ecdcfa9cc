"""Page: sign up."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.accounts.service import minimum_password_length
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.security.service import secure_new_session
from mamori.sessions.http import device_secret, set_device_cookie, set_session_cookie
from mamori.sessions.service import start_session
from mamori.sessions.signed_in import Db
from mamori.sign_up.service import sign_up as sign_up_with
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import (
    check_csrf,
    redirect_to,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)


def _shortest_password(ctx: Context) -> int:
    # An account not made yet has no second factor.
    return minimum_password_length(ctx.settings, two_factor_on=False)


@router.get("/signup")
def sign_up_page(request: Request, ctx: Ctx) -> Response:
    return render(request, "sign_up/signup.html", form={}, min_length=_shortest_password(ctx))


@router.post("/signup", dependencies=[Depends(check_csrf)])
def sign_up(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    username: str = Form(max_length=limits.MAX_USERNAME),
    password: str = Form(max_length=limits.MAX_PASSWORD),
    email: str = Form("", max_length=limits.MAX_EMAIL),
    phone: str = Form("", max_length=limits.MAX_PHONE),
) -> Response:
    form = {"username": username, "email": email, "phone": phone}
    device = device_secret(request)
    try:
        user = sign_up_with(
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
        return render_with_error(
            request,
            "sign_up/signup.html",
            error,
            form=form,
            min_length=_shortest_password(ctx),
        )
    response = redirect_to(request, "accounts_center")
    set_session_cookie(request, response, new_session.token)
    set_device_cookie(request, response, device)
    return response
