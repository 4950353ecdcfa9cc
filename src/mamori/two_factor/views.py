"""Pages: Accounts Center → Password and security → Two-factor authentication."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.backup_codes.errors import NoBackupCodes
from mamori.backup_codes.service import backup_code_sheet, remaining_codes
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.sessions.signed_in import PageAccount, RecentlyConfirmedPageAccount, SignedIn
from mamori.totp import service as totp
from mamori.two_factor import service
from mamori.web import limits
from mamori.web.templating import (
    check_csrf,
    page_path,
    redirect_to,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
PAGE = "/accounts/center/password-and-security/two-factor"
APP = f"{PAGE}/authenticator"
TEXT = f"{PAGE}/text-message"


# What the overview says after a change it was sent back to (Post/Redirect/Get).
DONE = {"off", "removed", "added"}


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
def two_factor_page(request: Request, me: PageAccount, done: str = "") -> Response:
    return _overview(request, me, done=done if done in DONE else None)


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
    """The first codes go to a page the person can reload and switch language on while
    their "Confirm it's you" window lasts; in hash_only mode the server keeps no copy to
    show again, so they are shown here, once."""
    if not codes:
        return redirect_to(request, "two_factor_page", query={"done": "added"})
    if me.ctx.settings.backup_codes_mode == "viewable":
        return redirect_to(request, "two_factor_turned_on")
    return render(
        request, "two_factor/turned_on.html", codes=codes, user=me.user, **_first_method(me)
    )


def _first_method(me: SignedIn) -> dict[str, Any]:
    preferences = service.two_factor_settings(me.db, me.user_id)
    return {"first": preferences.default_method if preferences else None}


@router.post(f"{PAGE}/passkey", dependencies=[Depends(check_csrf)])
def turn_on_with_passkey(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    """Two-factor on with the passkey the person has; the backup codes come as usual."""
    try:
        codes = service.turn_on_with_passkey(me.db, me.ctx, me.origin, me.user)
    except MamoriError as error:
        return render_with_error(request, "two_factor/overview.html", error, **_overview_values(me))
    return _turned_on(request, me, codes)


@router.get(f"{PAGE}/on")
def two_factor_turned_on(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    """Two-factor is on, with the codes made in this "Confirm it's you" window (audited
    and alerted once, by turning it on). An older set is the backup codes page's to show."""
    if not service.enabled_factors(me.db, me.user_id):
        return redirect_to(request, "two_factor_page")
    try:
        sheet = backup_code_sheet(me.db, me.ctx, me.user)
    except NoBackupCodes:
        return redirect_to(request, "two_factor_page")
    made_since = me.session.reauthenticated_at
    if made_since is None or sheet.created_at < made_since:
        return redirect_to(request, "backup_codes_page")
    return render(
        request,
        "two_factor/turned_on.html",
        codes=sheet.codes,
        created_at=sheet.created_at,
        download_url=page_path(request, "download_backup_codes"),
        user=me.user,
        **_first_method(me),
    )


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


@router.get(f"{PAGE}/remove")
def remove_method_page(request: Request, me: PageAccount, method: str = "") -> Response:
    """Asks first: what goes, and whether two-factor goes with it."""
    methods = service.enabled_factors(me.db, me.user_id)
    if method not in {m.value for m in methods}:
        return redirect_to(request, "two_factor_page")
    _ = translator(request_locale(request))
    names = {"passkey": _("Passkeys"), "totp": _("Authentication app"), "sms": _("Text message")}
    return render(
        request,
        "two_factor/confirm_remove.html",
        method=method,
        method_name=names.get(method, method),
        last=len(methods) == 1,
    )


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
    done = "removed" if service.enabled_factors(me.db, me.user_id) else "off"
    return redirect_to(request, "two_factor_page", query={"done": done})


@router.get(f"{PAGE}/off")
def turn_off_page(request: Request, me: PageAccount) -> Response:
    """Asks first: logins will need only the password; the backup codes stop working."""
    if not service.enabled_factors(me.db, me.user_id):
        return redirect_to(request, "two_factor_page")
    return render(request, "two_factor/confirm_off.html")


@router.post(f"{PAGE}/off", dependencies=[Depends(check_csrf)])
def turn_off(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    service.turn_off_two_factor(me.db, me.ctx, me.origin, me.user)
    return redirect_to(request, "two_factor_page", query={"done": "off"})
