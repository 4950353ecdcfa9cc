"""Pages: Accounts Center → Password and security → Contact details."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.contact_details import service
from mamori.contact_details.service import Kind
from mamori.context import Context
from mamori.core.errors import MamoriError, ReauthenticationRequired
from mamori.core.i18n import translator
from mamori.sessions.http import Caller, WebCaller
from mamori.sessions.models import LoginSession
from mamori.sessions.reauthentication import session_and_user
from mamori.sessions.service import require_recent_reauthentication
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, error_text, render, request_locale

router = APIRouter(include_in_schema=False)
PAGE = f"{service.SECURITY_PAGE}/contact-details"


@contextmanager
def _account(ctx: Context, caller: Caller) -> Iterator[tuple[Session, User, LoginSession]]:
    with ctx.database.session() as db:
        session, user = session_and_user(db, caller.session_id)
        yield db, user, session


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def _to_reauthenticate(path: str) -> RedirectResponse:
    return RedirectResponse(f"/reauthenticate?next={quote(path)}", status_code=303)


def _overview(
    request: Request, ctx: Context, caller: Caller, status_code: int = 200, **values: Any
) -> Response:
    with _account(ctx, caller) as (db, user, _):
        details = service.contact_details(db, ctx, user)
    return render(
        request, "contact_details/overview.html", status_code=status_code, details=details, **values
    )


def _code_page(
    request: Request, kind: Kind, address: str | None, status_code: int = 200, **values: Any
) -> Response:
    return render(
        request,
        "contact_details/code.html",
        status_code=status_code,
        kind=kind,
        address=address,
        **values,
    )


@router.get(PAGE)
def contact_details_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(PAGE)
    return _overview(request, ctx, caller)


@router.get(PAGE + "/{kind}")
def change_page(request: Request, ctx: Ctx, caller: WebCaller, kind: Kind) -> Response:
    if caller is None:
        return _to_login(f"{PAGE}/{kind}")
    try:
        with _account(ctx, caller) as (_, _, session):
            require_recent_reauthentication(ctx.clock, ctx.settings, session)
    except ReauthenticationRequired:
        return _to_reauthenticate(f"{PAGE}/{kind}")
    return render(request, "contact_details/change.html", kind=kind)


@router.post(PAGE + "/{kind}", dependencies=[Depends(check_csrf)])
def send_confirmation_code(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    kind: Kind,
    address: str = Form(max_length=limits.MAX_EMAIL),
) -> Response:
    """A new address (needs "Confirm it's you"), or the one already there, to confirm."""
    if caller is None:
        return _to_login(f"{PAGE}/{kind}")
    try:
        with _account(ctx, caller) as (db, user, session):
            sent_to = service.start_change(db, ctx, origin, user, session, kind, address)
    except ReauthenticationRequired:
        return _to_reauthenticate(f"{PAGE}/{kind}")
    except MamoriError as error:
        return render(
            request,
            "contact_details/change.html",
            status_code=error.status,
            kind=kind,
            address=address,
            error=error_text(request, error),
        )
    return _code_page(request, kind, sent_to)


@router.post(PAGE + "/{kind}/send", dependencies=[Depends(check_csrf)])
def send_code_again(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller, kind: Kind
) -> Response:
    """ "Confirm" beside an unconfirmed address, and "Send a new code"."""
    if caller is None:
        return _to_login(PAGE)
    try:
        with _account(ctx, caller) as (db, user, _):
            sent_to = service.send_code_again(db, ctx, origin, user, kind)
    except MamoriError as error:
        return _overview(request, ctx, caller, error.status, error=error_text(request, error))
    return _code_page(request, kind, sent_to)


@router.post(PAGE + "/{kind}/confirm", dependencies=[Depends(check_csrf)])
def confirm(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    kind: Kind,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    if caller is None:
        return _to_login(PAGE)
    try:
        with _account(ctx, caller) as (db, user, _):
            service.confirm_change(db, ctx, origin, user, kind, code)
    except MamoriError as error:
        with _account(ctx, caller) as (db, user, _):
            waiting = service.pending_address(db, ctx, user.id, kind)
        if waiting is None:  # nothing left to type a code for
            return _overview(request, ctx, caller, error.status, error=error_text(request, error))
        return _code_page(
            request, kind, waiting, status_code=error.status, error=error_text(request, error)
        )
    _ = translator(request_locale(request))
    notices = {
        "email": _("Your e-mail address is confirmed."),
        "phone": _("Your phone number is confirmed."),
    }
    return _overview(request, ctx, caller, notice=notices[kind])


@router.get(PAGE + "/{kind}/remove")
def remove_page(request: Request, ctx: Ctx, caller: WebCaller, kind: Kind) -> Response:
    if caller is None:
        return _to_login(f"{PAGE}/{kind}/remove")
    try:
        with _account(ctx, caller) as (db, user, session):
            require_recent_reauthentication(ctx.clock, ctx.settings, session)
            details = service.contact_details(db, ctx, user)
    except ReauthenticationRequired:
        return _to_reauthenticate(f"{PAGE}/{kind}/remove")
    return render(request, "contact_details/remove.html", kind=kind, details=details)


@router.post(PAGE + "/{kind}/remove", dependencies=[Depends(check_csrf)])
def remove_contact_detail(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller, kind: Kind
) -> Response:
    if caller is None:
        return _to_login(f"{PAGE}/{kind}/remove")
    try:
        with _account(ctx, caller) as (db, user, session):
            service.remove_address(db, ctx, origin, user, session, kind)
    except ReauthenticationRequired:
        return _to_reauthenticate(f"{PAGE}/{kind}/remove")
    _ = translator(request_locale(request))
    notices = {
        "email": _("Your e-mail address was removed."),
        "phone": _("Your phone number was removed."),
    }
    return _overview(request, ctx, caller, notice=notices[kind])
