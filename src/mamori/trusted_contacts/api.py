"""JSON routes: choose trusted contacts, answer their requests for help, and — while
recovering — ask them and enter their codes.

Choosing or removing contacts needs a reauthentication in the last 10 minutes
(`POST /api/v1/me/reauthenticate`), else 403 reauthentication_required.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from mamori.sessions.signed_in import ApiAccount, Db
from mamori.trusted_contacts import service
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin

router = APIRouter(prefix="/api/v1", tags=["trusted contacts"])

Username = Annotated[
    str,
    Path(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_NAME_OR_ID,
        description="A mamori username",
    ),
]
RequestId = Annotated[
    str,
    Path(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_REQUEST_ID,
        description="The request's `id` from the list",
    ),
]
RecoveryId = Annotated[
    str,
    Path(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_TOKEN,
        description="The `recovery` from POST /api/v1/recovery",
    ),
]
CHOOSE_ANSWERS: dict[int | str, dict[str, str]] = {
    403: {"description": "reauthentication_required"},
    422: {
        "description": "too_few_trusted_contacts, too_many_trusted_contacts, "
        "duplicate_username, unknown_username, cannot_choose_yourself, contact_declined "
        "(with `username`), invalid_request"
    },
}
REQUEST_ANSWERS: dict[int | str, dict[str, str]] = {
    404: {"description": "trusted_contact_request_not_found"},
    410: {"description": "trusted_contact_request_expired"},
}


class ChooseRequest(BaseModel):
    usernames: list[Annotated[str, Field(max_length=limits.MAX_NAME_OR_ID)]] = Field(
        max_length=limits.MAX_CONTACT_NAMES, description="3 to 5 usernames of other mamori accounts"
    )


class ContactOut(BaseModel):
    username: str
    status: Literal["active", "declined"]
    chosen_at: datetime
    declined_at: datetime | None


class ContactsOut(BaseModel):
    contacts: list[ContactOut]
    active: int = Field(description="Contacts who have not declined")
    minimum: int
    maximum: int
    threshold: int = Field(description="Codes from this many contacts prove a recovery")
    available: bool = Field(description="Whether contacts can help you recover right now")


class ChooserOut(BaseModel):
    username: str
    chosen_at: datetime


class ChoosersOut(BaseModel):
    chosen_by: list[ChooserOut]


class HelpRequestOut(BaseModel):
    id: str
    username: str = Field(description="Whose account is being recovered")
    asked_at: datetime
    expires_at: datetime
    state: Literal["waiting", "code_given", "vouched", "refused", "closed"]
    code_given_at: datetime | None


class HelpRequestsOut(BaseModel):
    requests: list[HelpRequestOut]


class GivenCodeOut(BaseModel):
    code: str = Field(description='"1234 5678": read it to the person, by voice only')
    expires_at: datetime


class AskRequest(BaseModel):
    usernames: list[Annotated[str, Field(max_length=limits.MAX_NAME_OR_ID)]] = Field(
        min_length=limits.NOT_EMPTY, max_length=service.MAX_NAMES
    )


class CodeRequest(BaseModel):
    code: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)


class VouchesOut(BaseModel):
    vouches: int = Field(description="Right codes from different contacts so far")
    needed: int
    proven: bool = Field(description="The recovery has its `trusted_contacts` proof")
    attempts_left: int = Field(description="Wrong codes this recovery may still try")


def _contacts(found: service.ContactList) -> ContactsOut:
    return ContactsOut(
        contacts=[
            ContactOut(
                username=c.username,
                status="active" if c.active else "declined",
                chosen_at=c.chosen_at,
                declined_at=c.declined_at,
            )
            for c in found.contacts
        ],
        active=found.active,
        minimum=service.MINIMUM,
        maximum=service.MAXIMUM,
        threshold=found.threshold,
        available=found.available,
    )


def _request(found: service.HelpRequest) -> HelpRequestOut:
    return HelpRequestOut(
        id=found.public_id,
        username=found.username,
        asked_at=found.asked_at,
        expires_at=found.expires_at,
        state=found.state,
        code_given_at=found.code_given_at,
    )


def _vouches(found: service.Vouches) -> VouchesOut:
    return VouchesOut(
        vouches=found.vouches,
        needed=found.needed,
        proven=found.proven,
        attempts_left=found.attempts_left,
    )


# --- the owner -----------------------------------------------------------------------------


@router.get("/me/trusted-contacts")
def list_trusted_contacts(me: ApiAccount) -> ContactsOut:
    return _contacts(service.trusted_contacts(me.db, me.ctx, me.user_id))


@router.put("/me/trusted-contacts", responses=CHOOSE_ANSWERS)
def choose_trusted_contacts(body: ChooseRequest, me: ApiAccount) -> ContactsOut:
    """Choose 3 to 5 other accounts; each is told and may decline. You are alerted."""
    found = service.choose_trusted_contacts(me.db, me.ctx, me.origin, me.session_id, body.usernames)
    return _contacts(found)


@router.delete(
    "/me/trusted-contacts/{username}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        403: {"description": "reauthentication_required"},
        404: {"description": "trusted_contact_not_found"},
    },
)
def remove_trusted_contact(username: Username, me: ApiAccount) -> Response:
    service.remove_trusted_contact(me.db, me.ctx, me.origin, me.session_id, username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the contact -------------------------------------------------------------------------


@router.get("/me/trusted-contact-of")
def who_chose_me(me: ApiAccount) -> ChoosersOut:
    """The accounts that chose you as a trusted contact (and you have not declined)."""
    found = service.chosen_by(me.db, me.user_id)
    return ChoosersOut(
        chosen_by=[ChooserOut(username=c.username, chosen_at=c.chosen_at) for c in found]
    )


@router.delete(
    "/me/trusted-contact-of/{username}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "trusted_contact_not_found"}},
)
def decline(username: Username, me: ApiAccount) -> Response:
    """Decline: stop being this account's trusted contact. They are told."""
    service.decline(me.db, me.ctx, me.origin, me.user_id, username)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/trusted-contact-requests")
def help_requests(me: ApiAccount) -> HelpRequestsOut:
    """Requests for help that wait for you: someone recovering an account that chose you."""
    found = service.help_requests(me.db, me.ctx, me.user_id)
    return HelpRequestsOut(requests=[_request(r) for r in found])


@router.get("/me/trusted-contact-requests/{request_id}", responses=REQUEST_ANSWERS)
def help_request(request_id: RequestId, me: ApiAccount) -> HelpRequestOut:
    return _request(service.help_request(me.db, me.ctx, me.user_id, request_id))


@router.post(
    "/me/trusted-contact-requests/{request_id}/code",
    responses={**REQUEST_ANSWERS, 409: {"description": "trusted_contact_request_closed"}},
)
def give_code(request_id: RequestId, me: ApiAccount, response: Response) -> GivenCodeOut:
    """You spoke to them and will read the code to them by voice: a code, shown this once
    (asking again replaces it). The account's owner is alerted."""
    response.headers["Cache-Control"] = "no-store"
    given = service.give_code(me.db, me.ctx, me.origin, me.user_id, request_id)
    return GivenCodeOut(code=given.code, expires_at=given.expires_at)


@router.post(
    "/me/trusted-contact-requests/{request_id}/refuse",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**REQUEST_ANSWERS, 409: {"description": "trusted_contact_request_closed"}},
)
def refuse(request_id: RequestId, me: ApiAccount) -> Response:
    """ "This isn't them": no code; any code you gave for it stops working."""
    service.refuse_request(me.db, me.ctx, me.origin, me.user_id, request_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# --- the person recovering -----------------------------------------------------------------


@router.get(
    "/recovery/{recovery}/trusted-contacts", responses={410: {"description": "recovery_expired"}}
)
def vouch_status(recovery: RecoveryId, db: Db, ctx: Ctx) -> VouchesOut:
    return _vouches(service.vouch_status(db, ctx, recovery))


@router.post(
    "/recovery/{recovery}/trusted-contacts",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        410: {"description": "recovery_expired"},
        429: {"description": "too_many_attempts (with Retry-After)"},
    },
)
def ask_trusted_contacts(
    recovery: RecoveryId, body: AskRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> VouchesOut:
    """Name the trusted contacts you remember. Those who are your contacts get a request
    with a code to read to you; the answer is the same whoever you name."""
    return _vouches(service.ask_trusted_contacts(db, ctx, origin, recovery, body.usernames))


@router.post(
    "/recovery/{recovery}/trusted-contacts/codes",
    responses={
        400: {"description": "invalid_code (with attempts_left)"},
        409: {"description": "code_already_used"},
        410: {"description": "recovery_expired, trusted_contact_code_expired"},
        429: {"description": "too_many_attempts (with Retry-After)"},
    },
)
def enter_code(
    recovery: RecoveryId, body: CodeRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> VouchesOut:
    """A code a contact read to you. Codes from `needed` contacts prove it's you."""
    return _vouches(service.enter_contact_code(db, ctx, origin, recovery, body.code))
