"""JSON routes: the account's e-mail address and phone number, confirmed by a code.

PUT an address → 202, a code goes to it; POST …/confirm with that code → it replaces the
old address, confirmed. To confirm the address already on the account (given at
sign-up), PUT that same address or POST …/send. Adding, changing and removing need a
reauthentication in the last 10 minutes (`POST /api/v1/me/reauthenticate`), else 403
reauthentication_required; confirming the address already there does not.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from mamori.contact_details import service
from mamori.contact_details.service import Kind
from mamori.sessions.signed_in import ApiAccount, RecentlyConfirmedApiAccount, SignedIn
from mamori.web import limits

router = APIRouter(prefix="/api/v1/me", tags=["contact details"])

CHANGE: dict[int | str, dict[str, Any]] = {
    403: {"description": "reauthentication_required"},
    409: {"description": "already_confirmed: nothing to confirm"},
    422: {"description": "invalid_request, invalid_email, invalid_phone"},
    429: {"description": "too_many_attempts (Retry-After)"},
    502: {"description": "delivery_failed"},
}
SEND: dict[int | str, dict[str, Any]] = {
    409: {"description": "no_pending_change, already_confirmed"},
    429: {"description": "too_many_attempts (Retry-After)"},
    502: {"description": "delivery_failed"},
}
CONFIRM: dict[int | str, dict[str, Any]] = {
    400: {"description": "invalid_code (with attempts_left)"},
    409: {
        "description": "address_in_use: another account holds the address the code proved; "
        "code_already_used; no_pending_change"
    },
    410: {"description": "challenge_expired: the code expired or its attempts are used up"},
}
REMOVE: dict[int | str, dict[str, Any]] = {403: {"description": "reauthentication_required"}}


class ContactDetailsOut(BaseModel):
    email: str | None
    email_confirmed: bool
    phone: str | None = Field(description="E.164")
    phone_confirmed: bool
    pending_email: str | None = Field(description="A new address waiting for its code")
    pending_phone: str | None = Field(description="A new number waiting for its code (E.164)")


class EmailRequest(BaseModel):
    email: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_EMAIL)


class PhoneRequest(BaseModel):
    phone: str = Field(
        min_length=limits.NOT_EMPTY, max_length=limits.MAX_PHONE, description="Any common notation"
    )


class CodeRequest(BaseModel):
    code: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)


class CodeSent(BaseModel):
    sent_to: str = Field(description="The address as mamori reads it (a phone in E.164)")


def _details(me: SignedIn) -> ContactDetailsOut:
    found = service.contact_details(me.db, me.ctx, me.user)
    return ContactDetailsOut(**found.__dict__)


def _start(me: SignedIn, kind: Kind, typed: str) -> CodeSent:
    return CodeSent(
        sent_to=service.start_change(me.db, me.ctx, me.origin, me.user, me.session, kind, typed)
    )


def _send_again(me: SignedIn, kind: Kind) -> CodeSent:
    return CodeSent(sent_to=service.send_code_again(me.db, me.ctx, me.origin, me.user, kind))


def _confirm(me: SignedIn, kind: Kind, code: str) -> ContactDetailsOut:
    service.confirm_change(me.db, me.ctx, me.origin, me.user, kind, code)
    return _details(me)


def _remove(me: SignedIn, kind: Kind) -> Response:
    service.remove_address(me.db, me.ctx, me.origin, me.user, me.session, kind)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/contact-details")
def contact_details(me: ApiAccount) -> ContactDetailsOut:
    return _details(me)


@router.put("/email", status_code=status.HTTP_202_ACCEPTED, responses=CHANGE)
def change_email(body: EmailRequest, me: ApiAccount) -> CodeSent:
    """A code goes to the address; it replaces the current one only once confirmed.
    Any address answers alike, whether or not another account holds it."""
    return _start(me, "email", body.email)


@router.post("/email/send", status_code=status.HTTP_202_ACCEPTED, responses=SEND)
def send_email_code(me: ApiAccount) -> CodeSent:
    """A new code for the address waiting for one, else for the unconfirmed current one."""
    return _send_again(me, "email")


@router.post("/email/confirm", responses=CONFIRM)
def confirm_email(body: CodeRequest, me: ApiAccount) -> ContactDetailsOut:
    return _confirm(me, "email", body.code)


@router.delete("/email", status_code=status.HTTP_204_NO_CONTENT, responses=REMOVE)
def remove_email(me: RecentlyConfirmedApiAccount) -> Response:
    return _remove(me, "email")


@router.put("/phone", status_code=status.HTTP_202_ACCEPTED, responses=CHANGE)
def change_phone(body: PhoneRequest, me: ApiAccount) -> CodeSent:
    """A code is texted to the number (any notation; stored E.164); it replaces the
    current one only once confirmed. Any number answers alike."""
    return _start(me, "phone", body.phone)


@router.post("/phone/send", status_code=status.HTTP_202_ACCEPTED, responses=SEND)
def send_phone_code(me: ApiAccount) -> CodeSent:
    """A new code for the number waiting for one, else for the unconfirmed current one."""
    return _send_again(me, "phone")


@router.post("/phone/confirm", responses=CONFIRM)
def confirm_phone(body: CodeRequest, me: ApiAccount) -> ContactDetailsOut:
    return _confirm(me, "phone", body.code)


@router.delete("/phone", status_code=status.HTTP_204_NO_CONTENT, responses=REMOVE)
def remove_phone(me: RecentlyConfirmedApiAccount) -> Response:
    return _remove(me, "phone")
