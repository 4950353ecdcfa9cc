"""Pages: Accounts Center → Password and security → Two-factor authentication."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.backup_codes.service import remaining_codes
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.sessions.signed_in import PageAccount, RecentlyConfirmedPageAccount, SignedIn
from mamori.totp import service as totp
from mamori.two_factor import service
from mamori.web import limits
from mamori.web.templating import (
    check_csrf,
    redirect_to,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
PAGE = "/accounts/center/password-and-security/two-factor"
APP = f"{PAGE}/authenticator"
TEXT = f"{PAGE}/text-message"


def _overview_values(me: SignedIn) -> dict[str, Any]:
    preferences = service.two_factor_settings(me.db, me.user_id)
    methods = service.enabled_factors(me.db, me.user_id)
    phone = service.confirmed_phone(me.db, me.user_id)
    return {
        "enabled": bool(preferences and methods),
        "methods": methods,
        "default": preferences.default_method if preferences else None,
        "phone": phone.phone if phone else None,
        "remaining": remaining_codes(me.db, me.user_id),
    }


def _overview(request: Request, me: SignedIn, **values: Any) -> Response:
    return render(request, "two_factor/overview.html", **_overview_values(me), **values)


@router.get(PAGE)
def two_factor_page(request: Request, me: PageAccount) -> Response:
    return _overview(request, me)


@router.get(APP)
def authenticator_page(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    # The same QR code on a reload, the language switch or a mistyped code, until it is
    # confirmed or expires: a person may already have scanned it.
    enrollment = totp.current_enrollment(me.db, me.ctx, me.user_id, me.user.username)
    return render(request, "two_factor/authenticator.html", **_enrollment_values(enrollment))


def _enrollment_values(enrollment: totp.Enrollment) -> dict[str, Any]:
    secret = enrollment.secret
    return {
        "enrollment": enrollment,
        "grouped_secret": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


@router.post(APP, dependencies=[Depends(check_csrf)])
def confirm_authenticator(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    try:
        codes = service.confirm_authenticator(me.db, me.ctx, me.origin, me.user, code)
    except MamoriError as error:
        enrollment = totp.current_enrollment(me.db, me.ctx, me.user_id, me.user.username)
        return render_with_error(
            request, "two_factor/authenticator.html", error, **_enrollment_values(enrollment)
        )
    return _turned_on(request, me, codes)


def _turned_on(request: Request, me: SignedIn, codes: list[str]) -> Response:
    _ = translator(request_locale(request))
    if codes:
        return render(request, "two_factor/turned_on.html", codes=codes, user=me.user)
    return _overview(request, me, notice=_("The method was added."))


@router.get(TEXT)
def text_message_page(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    return render(request, "two_factor/text_message.html", step="phone")


@router.post(TEXT, dependencies=[Depends(check_csrf)])
def send_phone_code(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    phone: str = Form(max_length=limits.MAX_PHONE),
) -> Response:
    try:
        number = service.start_phone_enrollment(me.db, me.ctx, me.origin, me.user, phone)
    except MamoriError as error:
        return render_with_error(
            request, "two_factor/text_message.html", error, step="phone", phone=phone
        )
    return render(request, "two_factor/text_message.html", step="code", phone=number)


@router.post(f"{TEXT}/confirm", dependencies=[Depends(check_csrf)])
def confirm_phone(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    try:
        codes = service.confirm_phone_enrollment(me.db, me.ctx, me.origin, me.user, code)
    except MamoriError as error:
        return render_with_error(request, "two_factor/text_message.html", error, step="code")
    return _turned_on(request, me, codes)


@router.post(f"{PAGE}/default", dependencies=[Depends(check_csrf)])
def choose_default(
    request: Request,
    me: PageAccount,
    method: str = Form(max_length=limits.MAX_METHOD),
) -> Response:
    try:
        service.set_default_method(me.db, me.ctx, me.origin, me.user, method)
    except MamoriError as error:
        return render_with_error(request, "two_factor/overview.html", error, **_overview_values(me))
    return redirect_to(request, "two_factor_page")


@router.post(f"{PAGE}/remove", dependencies=[Depends(check_csrf)])
def remove_method(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    method: str = Form(max_length=limits.MAX_METHOD),
) -> Response:
    try:
        service.remove_method(me.db, me.ctx, me.origin, me.user, method)
    except MamoriError as error:
        return render_with_error(request, "two_factor/overview.html", error, **_overview_values(me))
    return redirect_to(request, "two_factor_page")


@router.post(f"{PAGE}/off", dependencies=[Depends(check_csrf)])
def turn_off(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    service.turn_off_two_factor(me.db, me.ctx, me.origin, me.user)
    return redirect_to(request, "two_factor_page")
