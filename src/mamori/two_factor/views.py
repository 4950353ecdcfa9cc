"""Pages: Accounts Center → Password and security → Two-factor authentication."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.accounts.service import get_user
from mamori.backup_codes.service import remaining_codes
from mamori.context import Context
from mamori.core.errors import MamoriError, ReauthenticationRequired
from mamori.core.i18n import translator
from mamori.sessions.http import Caller, WebCaller
from mamori.sessions.reauthentication import recently_reauthenticated_user
from mamori.totp import service as totp
from mamori.two_factor import service
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, error_text, render, request_locale

router = APIRouter(include_in_schema=False)
PAGE = "/accounts/center/password-and-security/two-factor"
APP = f"{PAGE}/authenticator"
TEXT = f"{PAGE}/text-message"


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def _to_reauthenticate(path: str) -> RedirectResponse:
    return RedirectResponse(f"/reauthenticate?next={quote(path)}", status_code=303)


def _overview(request: Request, ctx: Context, caller: Caller, **values: Any) -> Response:
    with ctx.database.session() as db:
        preferences = service.two_factor_settings(db, caller.user_id)
        methods = service.enabled_factors(db, caller.user_id)
        phone = service.confirmed_phone(db, caller.user_id)
        remaining = remaining_codes(db, caller.user_id)
    return render(
        request,
        "two_factor/overview.html",
        enabled=bool(preferences and methods),
        methods=methods,
        default=preferences.default_method if preferences else None,
        phone=phone.phone if phone else None,
        remaining=remaining,
        **values,
    )


@router.get(PAGE)
def two_factor_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(PAGE)
    return _overview(request, ctx, caller)


@router.get(APP)
def authenticator_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(APP)
    try:
        with ctx.database.session() as db:
            user = recently_reauthenticated_user(db, ctx, caller.session_id)
            enrollment = totp.start_enrollment(db, ctx, user.id, user.username)
    except ReauthenticationRequired:
        return _to_reauthenticate(APP)
    return render(
        request,
        "two_factor/authenticator.html",
        enrollment=enrollment,
        grouped_secret=" ".join(
            enrollment.secret[i : i + 4] for i in range(0, len(enrollment.secret), 4)
        ),
    )


@router.post(APP, dependencies=[Depends(check_csrf)])
def confirm_authenticator(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    if caller is None:
        return _to_login(APP)
    try:
        with ctx.database.session() as db:
            user = recently_reauthenticated_user(db, ctx, caller.session_id)
            codes = service.confirm_authenticator(db, ctx, origin, user, code)
    except ReauthenticationRequired:
        return _to_reauthenticate(APP)
    except MamoriError as error:
        return render(
            request,
            "two_factor/authenticator_retry.html",
            status_code=error.status,
            error=error_text(request, error),
        )
    return _turned_on(request, ctx, caller, codes)


def _turned_on(request: Request, ctx: Context, caller: Caller, codes: list[str]) -> Response:
    _ = translator(request_locale(request))
    if codes:
        with ctx.database.session() as db:
            user = get_user(db, caller.user_id)
        return render(request, "two_factor/turned_on.html", codes=codes, user=user)
    return _overview(request, ctx, caller, notice=_("The method was added."))


@router.get(TEXT)
def text_message_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(TEXT)
    try:
        with ctx.database.session() as db:
            recently_reauthenticated_user(db, ctx, caller.session_id)
    except ReauthenticationRequired:
        return _to_reauthenticate(TEXT)
    return render(request, "two_factor/text_message.html", step="phone")


@router.post(TEXT, dependencies=[Depends(check_csrf)])
def send_phone_code(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    phone: str = Form(max_length=limits.MAX_PHONE),
) -> Response:
    if caller is None:
        return _to_login(TEXT)
    try:
        with ctx.database.session() as db:
            user = recently_reauthenticated_user(db, ctx, caller.session_id)
            number = service.start_phone_enrollment(db, ctx, origin, user, phone)
    except ReauthenticationRequired:
        return _to_reauthenticate(TEXT)
    except MamoriError as error:
        return render(
            request,
            "two_factor/text_message.html",
            step="phone",
            phone=phone,
            status_code=error.status,
            error=error_text(request, error),
        )
    return render(request, "two_factor/text_message.html", step="code", phone=number)


@router.post(f"{TEXT}/confirm", dependencies=[Depends(check_csrf)])
def confirm_phone(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    if caller is None:
        return _to_login(TEXT)
    try:
        with ctx.database.session() as db:
            user = recently_reauthenticated_user(db, ctx, caller.session_id)
            codes = service.confirm_phone_enrollment(db, ctx, origin, user, code)
    except ReauthenticationRequired:
        return _to_reauthenticate(TEXT)
    except MamoriError as error:
        return render(
            request,
            "two_factor/text_message.html",
            step="code",
            status_code=error.status,
            error=error_text(request, error),
        )
    return _turned_on(request, ctx, caller, codes)


@router.post(f"{PAGE}/default", dependencies=[Depends(check_csrf)])
def choose_default(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    method: str = Form(max_length=limits.MAX_METHOD),
) -> Response:
    if caller is None:
        return _to_login(PAGE)
    try:
        with ctx.database.session() as db:
            user = get_user(db, caller.user_id)
            assert user is not None
            service.set_default_method(db, ctx, origin, user, method)
    except MamoriError as error:
        return _overview(request, ctx, caller, error=error_text(request, error))
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/remove", dependencies=[Depends(check_csrf)])
def remove_method(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    method: str = Form(max_length=limits.MAX_METHOD),
) -> Response:
    if caller is None:
        return _to_login(PAGE)
    try:
        with ctx.database.session() as db:
            user = recently_reauthenticated_user(db, ctx, caller.session_id)
            service.remove_method(db, ctx, origin, user, method)
    except ReauthenticationRequired:
        return _to_reauthenticate(PAGE)
    except MamoriError as error:
        return _overview(request, ctx, caller, error=error_text(request, error))
    return RedirectResponse(PAGE, status_code=303)


@router.post(f"{PAGE}/off", dependencies=[Depends(check_csrf)])
def turn_off(request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(PAGE)
    try:
        with ctx.database.session() as db:
            user = recently_reauthenticated_user(db, ctx, caller.session_id)
            service.turn_off_two_factor(db, ctx, origin, user)
    except ReauthenticationRequired:
        return _to_reauthenticate(PAGE)
    return RedirectResponse(PAGE, status_code=303)
