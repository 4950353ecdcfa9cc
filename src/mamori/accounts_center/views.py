"""Pages: Accounts Center, Password and security, change password."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.accounts_center import service
from mamori.backup_codes.service import remaining_codes
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator, zone_names
from mamori.passkeys.service import passkey_count
from mamori.recovery.service import pending_recoveries
from mamori.sessions.service import active_sessions
from mamori.sessions.signed_in import PageAccount, SignedIn
from mamori.web import limits
from mamori.web.templating import (
    check_csrf,
    page_path,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
CENTER = "/accounts/center"
SECURITY = f"{CENTER}/password-and-security"


@router.get(CENTER)
def accounts_center(request: Request, me: PageAccount) -> Response:
    return render(
        request,
        "accounts_center/center.html",
        user=me.user,
        recoveries=pending_recoveries(me.db, me.ctx, me.user_id),
        backup_codes_left=remaining_codes(me.db, me.user_id),
    )


@router.get(SECURITY)
def password_and_security(request: Request, me: PageAccount) -> Response:
    sessions = active_sessions(me.db, me.ctx.clock, me.ctx.settings, me.user_id)
    return render(
        request,
        "accounts_center/password_and_security.html",
        user=me.user,
        session_count=len(sessions),
        passkey_count=passkey_count(me.db, me.user_id),
        recoveries=pending_recoveries(me.db, me.ctx, me.user_id),
        backup_codes_left=remaining_codes(me.db, me.user_id),
    )


@router.get(f"{SECURITY}/password")
def change_password_page(request: Request, me: PageAccount) -> Response:
    return render(
        request,
        "accounts_center/change_password.html",
        min_length=service.shortest_new_password(me.db, me.ctx, me.user_id),
    )


@router.post(f"{SECURITY}/password", dependencies=[Depends(check_csrf)])
def change_password(
    request: Request,
    me: PageAccount,
    current_password: str = Form(max_length=limits.MAX_PASSWORD),
    new_password: str = Form(max_length=limits.MAX_PASSWORD),
) -> Response:
    try:
        service.change_password(
            me.db,
            me.ctx,
            me.origin,
            me.user,
            current_password=current_password,
            new_password=new_password,
            session_id=me.session_id,
        )
    except MamoriError as error:
        return render_with_error(
            request,
            "accounts_center/change_password.html",
            error,
            min_length=service.shortest_new_password(me.db, me.ctx, me.user_id),
        )
    _ = translator(request_locale(request))
    return render(
        request,
        "message.html",
        heading=_("Password changed"),
        message=_("Your password was changed and your other sessions were logged out."),
        back=page_path(request, "password_and_security"),
    )


def _time_zones(me: SignedIn) -> dict[str, Any]:
    return {"zones": zone_names(), "current": me.user.time_zone, "now": me.ctx.clock.now()}


@router.get(f"{CENTER}/time-zone")
def time_zone_page(request: Request, me: PageAccount) -> Response:
    return render(request, "accounts_center/time_zone.html", **_time_zones(me))


@router.post(f"{CENTER}/time-zone", dependencies=[Depends(check_csrf)])
def change_time_zone(
    request: Request,
    me: PageAccount,
    time_zone: str = Form("", max_length=limits.MAX_TIME_ZONE),
) -> Response:
    try:
        service.change_time_zone(me.db, me.ctx, me.origin, me.user, time_zone)
    except MamoriError as error:
        return render_with_error(
            request, "accounts_center/time_zone.html", error, **_time_zones(me)
        )
    request.state.time_zone = me.user.time_zone  # this very page already shows the new zone
    _ = translator(request_locale(request))
    return render(
        request,
        "accounts_center/time_zone.html",
        notice=_("Saved. Times are now shown in this time zone."),
        **_time_zones(me),
    )
