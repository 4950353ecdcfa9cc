"""Pages: Accounts Center → Password and security → Contact details."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.contact_details import service
from mamori.contact_details.service import Kind
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.sessions.signed_in import PageAccount, RecentlyConfirmedPageAccount, SignedIn
from mamori.web import limits
from mamori.web.templating import check_csrf, render, render_with_error, request_locale

router = APIRouter(include_in_schema=False)
PAGE = f"{service.SECURITY_PAGE}/contact-details"
OVERVIEW = "contact_details/overview.html"
CODE = "contact_details/code.html"


def _details(me: SignedIn) -> dict[str, Any]:
    return {"details": service.contact_details(me.db, me.ctx, me.user)}


def _overview(request: Request, me: SignedIn, **values: Any) -> Response:
    return render(request, OVERVIEW, **_details(me), **values)


@router.get(PAGE)
def contact_details_page(request: Request, me: PageAccount) -> Response:
    return _overview(request, me)


@router.get(PAGE + "/{kind}")
def change_page(request: Request, me: RecentlyConfirmedPageAccount, kind: Kind) -> Response:
    return render(request, "contact_details/change.html", kind=kind)


@router.post(PAGE + "/{kind}", dependencies=[Depends(check_csrf)])
def send_confirmation_code(
    request: Request,
    me: PageAccount,
    kind: Kind,
    address: str = Form(max_length=limits.MAX_EMAIL),
) -> Response:
    """A new address (needs "Confirm it's you"), or the one already there, to confirm."""
    try:
        sent_to = service.start_change(me.db, me.ctx, me.origin, me.user, me.session, kind, address)
    except MamoriError as error:
        return render_with_error(
            request, "contact_details/change.html", error, kind=kind, address=address
        )
    return render(request, CODE, kind=kind, address=sent_to)


@router.post(PAGE + "/{kind}/send", dependencies=[Depends(check_csrf)])
def send_code_again(request: Request, me: PageAccount, kind: Kind) -> Response:
    """ "Confirm" beside an unconfirmed address, and "Send a new code"."""
    try:
        sent_to = service.send_code_again(me.db, me.ctx, me.origin, me.user, kind)
    except MamoriError as error:
        return render_with_error(request, OVERVIEW, error, **_details(me))
    return render(request, CODE, kind=kind, address=sent_to)


@router.post(PAGE + "/{kind}/confirm", dependencies=[Depends(check_csrf)])
def confirm(
    request: Request,
    me: PageAccount,
    kind: Kind,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    try:
        service.confirm_change(me.db, me.ctx, me.origin, me.user, kind, code)
    except MamoriError as error:
        waiting = service.pending_address(me.db, me.ctx, me.user_id, kind)
        if waiting is None:  # nothing left to type a code for
            return render_with_error(request, OVERVIEW, error, **_details(me))
        return render_with_error(request, CODE, error, kind=kind, address=waiting)
    _ = translator(request_locale(request))
    notices = {
        "email": _("Your e-mail address is confirmed."),
        "phone": _("Your phone number is confirmed."),
    }
    return _overview(request, me, notice=notices[kind])


@router.get(PAGE + "/{kind}/remove")
def remove_page(request: Request, me: RecentlyConfirmedPageAccount, kind: Kind) -> Response:
    details = service.contact_details(me.db, me.ctx, me.user)
    return render(request, "contact_details/remove.html", kind=kind, details=details)


@router.post(PAGE + "/{kind}/remove", dependencies=[Depends(check_csrf)])
def remove_contact_detail(
    request: Request, me: RecentlyConfirmedPageAccount, kind: Kind
) -> Response:
    service.remove_address(me.db, me.ctx, me.origin, me.user, me.session, kind)
    _ = translator(request_locale(request))
    notices = {
        "email": _("Your e-mail address was removed."),
        "phone": _("Your phone number was removed."),
    }
    return _overview(request, me, notice=notices[kind])
