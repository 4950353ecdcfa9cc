"""Pages: Accounts Center → Password and security → Trusted contacts; a contact's request
for help; and "Ask your trusted contacts" while recovering (Can't log in?)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.context import Context
from mamori.core.errors import MamoriError, ReauthenticationRequired
from mamori.core.i18n import translator
from mamori.recovery.errors import RecoveryExpired
from mamori.sessions.http import Caller, WebCaller
from mamori.sessions.reauthentication import recently_reauthenticated_user
from mamori.trusted_contacts import service
from mamori.trusted_contacts.errors import ContactProblem, RequestExpired, RequestNotFound
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, cookie_name, error_text, render, request_locale

router = APIRouter(include_in_schema=False)
PAGE = service.SETTINGS_PAGE
CHOOSE = f"{PAGE}/choose"
REQUESTS = service.REQUEST_PAGE
RECOVERY = "/recovery/trusted-contacts"
RECOVERY_COOKIE = "mamori_recovery"
MAX_FIELDS = 20


def _to_login(path: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(path)}", status_code=303)


def _to_reauthenticate(path: str) -> RedirectResponse:
    return RedirectResponse(f"/reauthenticate?next={quote(path)}", status_code=303)


def _message(request: Request, ctx: Ctx, error: MamoriError, back: str) -> Response:
    return render(
        request,
        "message.html",
        status_code=error.status,
        heading=error_text(request, error),
        message="",
        back=back,
    )


def _problem_text(request: Request, error: MamoriError) -> str:
    text = error_text(request, error)
    if isinstance(error, ContactProblem) and error.username:
        text += f" ({error.username})"
    return text


def _typed(values: list[str]) -> list[str]:
    """What a person typed into the name fields: empty fields are simply not used."""
    return [value.strip() for value in values[:MAX_FIELDS] if value.strip()]


# --- the owner and the contact: the settings page ------------------------------------------


def _overview(request: Request, ctx: Context, caller: Caller, **values: Any) -> Response:
    with ctx.database.session() as db:
        mine = service.trusted_contacts(db, ctx, caller.user_id)
        choosers = service.chosen_by(db, caller.user_id)
        asking = service.help_requests(db, ctx, caller.user_id)
    return render(
        request,
        "trusted_contacts/overview.html",
        mine=mine,
        choosers=choosers,
        asking=asking,
        minimum=service.MINIMUM,
        maximum=service.MAXIMUM,
        **values,
    )


@router.get(PAGE)
def trusted_contacts_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(PAGE)
    return _overview(request, ctx, caller)


def _choose_form(
    request: Request, ctx: Context, caller: Caller, typed: list[str] | None, **values: Any
) -> Response:
    if typed is None:
        with ctx.database.session() as db:
            mine = service.trusted_contacts(db, ctx, caller.user_id)
        typed = [c.username for c in mine.contacts if c.active]
    fields = (typed + [""] * service.MAXIMUM)[: max(service.MAXIMUM, len(typed))]
    return render(
        request,
        "trusted_contacts/choose.html",
        fields=fields,
        minimum=service.MINIMUM,
        maximum=service.MAXIMUM,
        **values,
    )


@router.get(CHOOSE)
def choose_page(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(CHOOSE)
    try:
        with ctx.database.session() as db:
            recently_reauthenticated_user(db, ctx, caller.session_id)
    except ReauthenticationRequired:
        return _to_reauthenticate(CHOOSE)
    return _choose_form(request, ctx, caller, None)


@router.post(CHOOSE, dependencies=[Depends(check_csrf)])
def choose(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    username: list[str] = Form(default_factory=list),
) -> Response:
    if caller is None:
        return _to_login(CHOOSE)
    typed = _typed(username)
    try:
        with ctx.database.session() as db:
            service.choose_trusted_contacts(db, ctx, origin, caller.session_id, typed)
    except ReauthenticationRequired:
        return _to_reauthenticate(CHOOSE)
    except MamoriError as error:
        return _choose_form(
            request,
            ctx,
            caller,
            typed,
            error=_problem_text(request, error),
            status_code=error.status,
        )
    _ = translator(request_locale(request))
    return _overview(
        request, ctx, caller, notice=_("Saved. Each contact was told and can decline.")
    )


@router.post(f"{PAGE}/remove", dependencies=[Depends(check_csrf)])
def remove_contact(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    username: str = Form(max_length=limits.MAX_NAME_OR_ID),
) -> Response:
    if caller is None:
        return _to_login(PAGE)
    try:
        with ctx.database.session() as db:
            service.remove_trusted_contact(db, ctx, origin, caller.session_id, username)
    except ReauthenticationRequired:
        return _to_reauthenticate(PAGE)
    except MamoriError as error:
        return _overview(
            request, ctx, caller, error=error_text(request, error), status_code=error.status
        )
    _ = translator(request_locale(request))
    return _overview(request, ctx, caller, notice=_("Removed from your trusted contacts."))


@router.post(f"{PAGE}/decline", dependencies=[Depends(check_csrf)])
def decline(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    username: str = Form(max_length=limits.MAX_NAME_OR_ID),
) -> Response:
    if caller is None:
        return _to_login(PAGE)
    try:
        with ctx.database.session() as db:
            service.decline(db, ctx, origin, caller.user_id, username)
    except MamoriError as error:
        return _overview(
            request, ctx, caller, error=error_text(request, error), status_code=error.status
        )
    _ = translator(request_locale(request))
    return _overview(
        request, ctx, caller, notice=_("You declined. %(username)s was told.", username=username)
    )


# --- the contact: one request for help --------------------------------------------------------


def _request_page(
    request: Request, ctx: Context, caller: Caller, public_id: str, **values: Any
) -> Response:
    try:
        with ctx.database.session() as db:
            found = service.help_request(db, ctx, caller.user_id, public_id)
    except (RequestNotFound, RequestExpired) as error:
        return _message(request, ctx, error, PAGE)
    return render(request, "trusted_contacts/request.html", help=found, **values)


@router.get(f"{REQUESTS}/{{public_id}}")
def request_page(request: Request, ctx: Ctx, caller: WebCaller, public_id: str) -> Response:
    if caller is None:
        return _to_login(f"{REQUESTS}/{quote(public_id[:32])}")
    return _request_page(request, ctx, caller, public_id)


@router.post(f"{REQUESTS}/{{public_id}}/code", dependencies=[Depends(check_csrf)])
def give_code(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller, public_id: str
) -> Response:
    if caller is None:
        return _to_login(f"{REQUESTS}/{quote(public_id[:32])}")
    try:
        with ctx.database.session() as db:
            given = service.give_code(db, ctx, origin, caller.user_id, public_id)
    except (RequestNotFound, RequestExpired) as error:
        return _message(request, ctx, error, PAGE)
    except MamoriError as error:
        return _request_page(request, ctx, caller, public_id, error=error_text(request, error))
    return _request_page(request, ctx, caller, public_id, given=given)


@router.post(f"{REQUESTS}/{{public_id}}/refuse", dependencies=[Depends(check_csrf)])
def refuse(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller, public_id: str
) -> Response:
    if caller is None:
        return _to_login(f"{REQUESTS}/{quote(public_id[:32])}")
    try:
        with ctx.database.session() as db:
            service.refuse_request(db, ctx, origin, caller.user_id, public_id)
    except (RequestNotFound, RequestExpired) as error:
        return _message(request, ctx, error, PAGE)
    except MamoriError as error:
        return _request_page(request, ctx, caller, public_id, error=error_text(request, error))
    _ = translator(request_locale(request))
    return _request_page(
        request,
        ctx,
        caller,
        public_id,
        notice=_("Thank you. No code was given, and the account's owner was told."),
    )


# --- the person recovering ----------------------------------------------------------------


def recovery_token(request: Request) -> str:
    """The recovery this browser is in: the cookie the recovery pages set."""
    return request.cookies.get(cookie_name(request, RECOVERY_COOKIE), "")


def _recovery_page(request: Request, ctx: Context, asked: bool = False, **values: Any) -> Response:
    try:
        with ctx.database.session() as db:
            vouches = service.vouch_status(db, ctx, recovery_token(request))
    except RecoveryExpired as error:
        return _message(request, ctx, error, "/recovery")
    return render(
        request,
        "trusted_contacts/recovery.html",
        vouches=vouches,
        asked=asked,
        maximum=service.MAXIMUM,
        **values,
    )


@router.get(RECOVERY)
def recovery_page(request: Request, ctx: Ctx) -> Response:
    return _recovery_page(request, ctx)


@router.post(RECOVERY, dependencies=[Depends(check_csrf)])
def ask(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    username: list[str] = Form(default_factory=list),
) -> Response:
    typed = _typed(username)[: service.MAX_NAMES]
    try:
        with ctx.database.session() as db:
            if typed:
                service.ask_trusted_contacts(db, ctx, origin, recovery_token(request), typed)
    except RecoveryExpired as error:
        return _message(request, ctx, error, "/recovery")
    except MamoriError as error:
        return _recovery_page(
            request, ctx, error=error_text(request, error), status_code=error.status
        )
    return _recovery_page(request, ctx, asked=bool(typed))


@router.post(f"{RECOVERY}/codes", dependencies=[Depends(check_csrf)])
def enter_contact_codes(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    try:
        with ctx.database.session() as db:
            service.enter_contact_code(db, ctx, origin, recovery_token(request), code)
    except RecoveryExpired as error:
        return _message(request, ctx, error, "/recovery")
    except MamoriError as error:
        return _recovery_page(
            request, ctx, asked=True, error=error_text(request, error), status_code=error.status
        )
    _ = translator(request_locale(request))
    return _recovery_page(request, ctx, asked=True, notice=_("That code counts."))
