"""Pages: Accounts Center → Password and security → Trusted contacts; a contact's request
for help; and "Ask your trusted contacts" while recovering (Can't log in?)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.recovery.errors import RecoveryExpired
from mamori.sessions.signed_in import Db, PageAccount, RecentlyConfirmedPageAccount, SignedIn
from mamori.trusted_contacts import service
from mamori.trusted_contacts.errors import ContactProblem, RequestExpired, RequestNotFound
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import (
    check_csrf,
    cookie_name,
    error_text,
    page_path,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
PAGE = service.SETTINGS_PAGE
CHOOSE = f"{PAGE}/choose"
REQUESTS = service.REQUEST_PAGE
RECOVERY = "/recovery/trusted-contacts"
RECOVERY_COOKIE = "mamori_recovery"
MAX_FIELDS = 20
OVERVIEW = "trusted_contacts/overview.html"
CHOOSE_FORM = "trusted_contacts/choose.html"
HELP_REQUEST = "trusted_contacts/request.html"
RECOVERING = "trusted_contacts/recovery.html"


def _message(request: Request, error: MamoriError, back: str) -> Response:
    return render(
        request,
        "message.html",
        status_code=error.status,
        heading=error_text(request, error),
        message="",
        back=page_path(request, back),
    )


def _typed(values: list[str]) -> list[str]:
    """What a person typed into the name fields: empty fields are simply not used."""
    return [value.strip() for value in values[:MAX_FIELDS] if value.strip()]


# --- the owner and the contact: the settings page ------------------------------------------


def _overview_values(me: SignedIn) -> dict[str, Any]:
    return {
        "mine": service.trusted_contacts(me.db, me.ctx, me.user_id),
        "choosers": service.chosen_by(me.db, me.user_id),
        "asking": service.help_requests(me.db, me.ctx, me.user_id),
        "minimum": service.MINIMUM,
        "maximum": service.MAXIMUM,
    }


def _overview(request: Request, me: SignedIn, **values: Any) -> Response:
    return render(request, OVERVIEW, **_overview_values(me), **values)


@router.get(PAGE)
def trusted_contacts_page(request: Request, me: PageAccount) -> Response:
    return _overview(request, me)


def _choose_values(me: SignedIn, typed: list[str] | None) -> dict[str, Any]:
    if typed is None:
        mine = service.trusted_contacts(me.db, me.ctx, me.user_id)
        typed = [c.username for c in mine.contacts if c.active]
    fields = (typed + [""] * service.MAXIMUM)[: max(service.MAXIMUM, len(typed))]
    return {"fields": fields, "minimum": service.MINIMUM, "maximum": service.MAXIMUM}


@router.get(CHOOSE)
def choose_page(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    return render(request, CHOOSE_FORM, **_choose_values(me, None))


@router.post(CHOOSE, dependencies=[Depends(check_csrf)])
def choose(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    username: list[str] = Form(default_factory=list),
) -> Response:
    typed = _typed(username)
    try:
        service.choose_trusted_contacts(me.db, me.ctx, me.origin, me.session_id, typed)
    except MamoriError as error:
        values = _choose_values(me, typed)
        if isinstance(error, ContactProblem) and error.username:
            # The message names the username it is about.
            text = f"{error_text(request, error)} ({error.username})"
            return render(request, CHOOSE_FORM, status_code=error.status, error=text, **values)
        return render_with_error(request, CHOOSE_FORM, error, **values)
    _ = translator(request_locale(request))
    return _overview(request, me, notice=_("Saved. Each contact was told and can decline."))


@router.post(f"{PAGE}/remove", dependencies=[Depends(check_csrf)])
def remove_contact(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    username: str = Form(max_length=limits.MAX_NAME_OR_ID),
) -> Response:
    try:
        service.remove_trusted_contact(me.db, me.ctx, me.origin, me.session_id, username)
    except MamoriError as error:
        return render_with_error(request, OVERVIEW, error, **_overview_values(me))
    _ = translator(request_locale(request))
    return _overview(request, me, notice=_("Removed from your trusted contacts."))


@router.post(f"{PAGE}/decline", dependencies=[Depends(check_csrf)])
def decline(
    request: Request,
    me: PageAccount,
    username: str = Form(max_length=limits.MAX_NAME_OR_ID),
) -> Response:
    try:
        service.decline(me.db, me.ctx, me.origin, me.user_id, username)
    except MamoriError as error:
        return render_with_error(request, OVERVIEW, error, **_overview_values(me))
    _ = translator(request_locale(request))
    return _overview(
        request, me, notice=_("You declined. %(username)s was told.", username=username)
    )


# --- the contact: one request for help --------------------------------------------------------


def _request_page(request: Request, me: SignedIn, public_id: str, **values: Any) -> Response:
    try:
        found = service.help_request(me.db, me.ctx, me.user_id, public_id)
    except (RequestNotFound, RequestExpired) as error:
        return _message(request, error, "trusted_contacts_page")
    return render(request, HELP_REQUEST, help=found, **values)


@router.get(f"{REQUESTS}/{{public_id}}")
def request_page(request: Request, me: PageAccount, public_id: str) -> Response:
    return _request_page(request, me, public_id)


@router.post(f"{REQUESTS}/{{public_id}}/code", dependencies=[Depends(check_csrf)])
def give_code(request: Request, me: PageAccount, public_id: str) -> Response:
    try:
        given = service.give_code(me.db, me.ctx, me.origin, me.user_id, public_id)
    except (RequestNotFound, RequestExpired) as error:
        return _message(request, error, "trusted_contacts_page")
    except MamoriError as error:
        # The request page as it is now, the message above it (a 200, as it always was).
        return _request_page(request, me, public_id, error=error_text(request, error))
    return _request_page(request, me, public_id, given=given)


@router.post(f"{REQUESTS}/{{public_id}}/refuse", dependencies=[Depends(check_csrf)])
def refuse(request: Request, me: PageAccount, public_id: str) -> Response:
    try:
        service.refuse_request(me.db, me.ctx, me.origin, me.user_id, public_id)
    except (RequestNotFound, RequestExpired) as error:
        return _message(request, error, "trusted_contacts_page")
    except MamoriError as error:
        return _request_page(request, me, public_id, error=error_text(request, error))
    _ = translator(request_locale(request))
    return _request_page(
        request,
        me,
        public_id,
        notice=_("Thank you. No code was given, and the account's owner was told."),
    )


# --- the person recovering ----------------------------------------------------------------


def recovery_token(request: Request) -> str:
    """The recovery this browser is in: the cookie the recovery pages set."""
    return request.cookies.get(cookie_name(request, RECOVERY_COOKIE), "")


def _recovery_page(
    request: Request,
    db: Session,
    ctx: Context,
    error: MamoriError | None = None,
    asked: bool = False,
    **values: Any,
) -> Response:
    try:
        vouches = service.vouch_status(db, ctx, recovery_token(request))
    except RecoveryExpired as expired:
        return _message(request, expired, "start_page")
    values = {"vouches": vouches, "asked": asked, "maximum": service.MAXIMUM, **values}
    if missing := values.pop("missing", None):
        return render(request, RECOVERING, 422, error=missing, error_fields=("username",), **values)
    if error is not None:
        return render_with_error(request, RECOVERING, error, **values)
    return render(request, RECOVERING, **values)


@router.get(RECOVERY)
def recovery_page(request: Request, db: Db, ctx: Ctx) -> Response:
    return _recovery_page(request, db, ctx)


@router.post(RECOVERY, dependencies=[Depends(check_csrf)])
def ask(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    username: list[str] = Form(default_factory=list),
) -> Response:
    typed = _typed(username)[: service.MAX_NAMES]
    if not typed:
        # Nothing typed: said beside the first field, as any form's missing field is.
        _ = translator(request_locale(request))
        missing = _("Enter the username of at least one trusted contact.")
        return _recovery_page(request, db, ctx, missing=missing)
    try:
        service.ask_trusted_contacts(db, ctx, origin, recovery_token(request), typed)
    except RecoveryExpired as error:
        return _message(request, error, "start_page")
    except MamoriError as error:
        return _recovery_page(request, db, ctx, error)
    return _recovery_page(request, db, ctx, asked=bool(typed))


@router.post(f"{RECOVERY}/codes", dependencies=[Depends(check_csrf)])
def enter_contact_codes(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    code: str = Form(max_length=limits.MAX_CODE),
) -> Response:
    try:
        service.enter_contact_code(db, ctx, origin, recovery_token(request), code)
    except RecoveryExpired as error:
        return _message(request, error, "start_page")
    except MamoriError as error:
        return _recovery_page(request, db, ctx, error, asked=True)
    _ = translator(request_locale(request))
    return _recovery_page(request, db, ctx, asked=True, notice=_("That code counts."))
