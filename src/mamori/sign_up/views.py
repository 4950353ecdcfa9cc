"""Pages: sign up, then confirm the e-mail and phone it was given (or later)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.accounts.service import minimum_password_length
from mamori.contact_details import service as contact_details
from mamori.contact_details.service import Kind
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.security.service import secure_new_session
from mamori.sessions.http import device_secret, set_device_cookie, set_session_cookie
from mamori.sessions.service import start_session
from mamori.sessions.signed_in import Db, PageAccount, SignedIn
from mamori.sign_up.service import send_confirmation_codes
from mamori.sign_up.service import sign_up as sign_up_with
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import (
    check_csrf,
    page_path,
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
        send_confirmation_codes(db, ctx, origin, user)
    except MamoriError as error:
        return render_with_error(
            request,
            "sign_up/signup.html",
            error,
            form=form,
            min_length=_shortest_password(ctx),
        )
    asks = contact_details.unconfirmed_kinds(user)
    response = redirect_to(request, "confirm_address_page" if asks else "accounts_center")
    set_session_cookie(request, response, new_session.token)
    set_device_cookie(request, response, device)
    return response


CONFIRM = "sign_up/confirm.html"


def _to_confirm(me: SignedIn) -> tuple[Kind, str] | None:
    """The first address typed at sign-up still to confirm, and where its code went. An
    address being changed on the contact-details page is confirmed there, not here."""
    for kind in contact_details.unconfirmed_kinds(me.user):
        current = contact_details.current_address(me.user, kind)
        waiting = contact_details.pending_address(me.db, me.ctx, me.user_id, kind)
        if current is not None and waiting in (None, current):
            return kind, current
    return None


def _confirm_values(me: SignedIn, kind: Kind, address: str) -> dict[str, Any]:
    waiting = contact_details.pending_address(me.db, me.ctx, me.user_id, kind)
    return {"kind": kind, "address": address, "code_sent": waiting == address}


@router.get("/signup/confirm")
def confirm_address_page(request: Request, me: PageAccount) -> Response:
    found = _to_confirm(me)
    if found is None:
        return redirect_to(request, "accounts_center")
    return render(request, CONFIRM, **_confirm_values(me, *found))


@router.post("/signup/confirm/{kind}", dependencies=[Depends(check_csrf)])
def confirm_address(
    request: Request,
    me: PageAccount,
    kind: Kind,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    address = contact_details.current_address(me.user, kind) or ""
    try:
        contact_details.confirm_change(me.db, me.ctx, me.origin, me.user, kind, code)
    except MamoriError as error:
        return render_with_error(request, CONFIRM, error, **_confirm_values(me, kind, address))
    _ = translator(request_locale(request))
    confirmed = {
        "email": _("Your e-mail address is confirmed."),
        "phone": _("Your phone number is confirmed."),
    }[kind]
    found = _to_confirm(me)
    if found is not None:
        return render(request, CONFIRM, notice=confirmed, **_confirm_values(me, *found))
    return render(
        request,
        "message.html",
        heading=confirmed,
        message=_(
            "It can now receive security codes, including the ones that get you back in "
            "if you can't log in."
        ),
        back=page_path(request, "accounts_center"),
    )


@router.post("/signup/confirm/{kind}/send", dependencies=[Depends(check_csrf)])
def send_address_code(request: Request, me: PageAccount, kind: Kind) -> Response:
    address = contact_details.current_address(me.user, kind) or ""
    try:
        sent_to = contact_details.send_code_again(me.db, me.ctx, me.origin, me.user, kind)
    except MamoriError as error:
        return render_with_error(request, CONFIRM, error, **_confirm_values(me, kind, address))
    _ = translator(request_locale(request))
    return render(
        request, CONFIRM, notice=_("We sent a new code."), **_confirm_values(me, kind, sent_to)
    )
