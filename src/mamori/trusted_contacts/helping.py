"""The contact's side: who chose me, declining, and requests for help (a code, or "this
isn't them")."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.audit.service import Origin, record_event
from mamori.backup_codes.service import format_backup_code
from mamori.context import Context
from mamori.notifications.service import alert_user
from mamori.recovery import service as recovery
from mamori.recovery.models import OPEN, RecoveryAttempt
from mamori.sessions.service import PUBLIC_ID
from mamori.trusted_contacts import messages
from mamori.trusted_contacts.contacts import (
    CODE_DIGITS,
    SETTINGS_PAGE,
    active_contact_count,
    close_requests,
    contact_row,
    page_link,
    user_named,
    username_of,
    vouch_digest,
)
from mamori.trusted_contacts.errors import (
    ContactNotFound,
    RequestClosed,
    RequestExpired,
    RequestNotFound,
)
from mamori.trusted_contacts.models import TrustedContact, TrustedContactRequest

RequestState = Literal["waiting", "code_given", "vouched", "refused", "closed"]


@dataclass(frozen=True)
class Chooser:
    """Someone who chose me as a trusted contact."""

    username: str
    chosen_at: datetime


@dataclass(frozen=True)
class HelpRequest:
    """A request for help as the contact sees it."""

    public_id: str
    username: str  # whose account is being recovered
    asked_at: datetime
    expires_at: datetime
    state: RequestState
    code_given_at: datetime | None


@dataclass(frozen=True)
class GivenCode:
    code: str  # "1234 5678"
    expires_at: datetime


def chosen_by(db: Session, contact_id: int) -> list[Chooser]:
    rows = db.execute(
        select(User.username, TrustedContact.chosen_at)
        .join(User, User.id == TrustedContact.owner_id)
        .where(TrustedContact.contact_id == contact_id, TrustedContact.declined_at.is_(None))
        .order_by(TrustedContact.chosen_at, TrustedContact.id)
    ).all()
    return [Chooser(name, chosen_at) for name, chosen_at in rows]


def decline(db: Session, ctx: Context, origin: Origin, contact_id: int, owner_name: str) -> None:
    """Stop being `owner_name`'s trusted contact. Their open requests to me close."""
    owner = user_named(db, owner_name)
    row = contact_row(db, owner_id=owner.id, contact_id=contact_id) if owner else None
    contact = get_user(db, contact_id)
    if owner is None or row is None or row.declined_at is not None or contact is None:
        raise ContactNotFound()
    row.declined_at = ctx.clock.now()
    close_requests(db, ctx, owner.id, contact_id, "declined")
    db.flush()
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.declined",
        origin,
        user_id=owner.id,
        contact=contact.username,
    )
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.declined_by_me",
        origin,
        user_id=contact.id,
        owner=owner.username,
    )
    count = active_contact_count(db, owner.id)
    alert_user(
        db,
        ctx,
        owner,
        messages.CONTACT_DECLINED.subject,
        messages.CONTACT_DECLINED.body,
        contact=contact.username,
        count=count,
        link=page_link(ctx, SETTINGS_PAGE),
    )


def help_requests(db: Session, ctx: Context, contact_id: int) -> list[HelpRequest]:
    """Live requests to me that still need me (not refused, not already vouched)."""
    now = ctx.clock.now()
    rows = db.scalars(
        select(TrustedContactRequest)
        .where(
            TrustedContactRequest.contact_id == contact_id,
            TrustedContactRequest.closed_at.is_(None),
            TrustedContactRequest.vouched_at.is_(None),
            TrustedContactRequest.expires_at > now,
        )
        .order_by(TrustedContactRequest.asked_at.desc(), TrustedContactRequest.id.desc())
    )
    return [_shown(db, row) for row in rows if _live(db, ctx, row)]


def help_request(db: Session, ctx: Context, contact_id: int, public_id: str) -> HelpRequest:
    return _shown(db, _my_live_request(db, ctx, contact_id, public_id))


def give_code(
    db: Session, ctx: Context, origin: Origin, contact_id: int, public_id: str
) -> GivenCode:
    """The contact confirmed they will pass the code on by voice: make it (replacing an
    unused earlier one) and show it this once."""
    request = _my_live_request(db, ctx, contact_id, public_id)
    if request.vouched_at is not None or request.closed_at is not None:
        raise RequestClosed()
    first = request.code_issued_at is None
    code = _fresh_code(db, ctx, request.attempt_id)
    request.code_digest = vouch_digest(ctx, request.attempt_id, code)
    request.code_issued_at = ctx.clock.now()
    db.flush()
    owner = get_user(db, request.owner_id)
    contact = get_user(db, contact_id)
    assert owner is not None and contact is not None
    attempt = db.get(RecoveryAttempt, request.attempt_id)
    assert attempt is not None
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.code_given",
        origin,
        user_id=owner.id,
        recovery=attempt.public_id,
        contact=contact.username,
        request=request.public_id,
    )
    if first:
        recovery.alert_everywhere(
            db,
            ctx,
            origin,
            owner,
            messages.CODE_GIVEN,
            contact=contact.username,
            username=owner.username,
        )
    return GivenCode(format_backup_code(code), request.expires_at)


def refuse_request(
    db: Session, ctx: Context, origin: Origin, contact_id: int, public_id: str
) -> None:
    """ "This isn't them": the request closes and its code (if any) stops working."""
    request = _my_live_request(db, ctx, contact_id, public_id)
    if request.vouched_at is not None or request.closed_at is not None:
        raise RequestClosed()
    request.closed_at = ctx.clock.now()
    request.closed_reason = "refused"
    request.code_digest = None
    db.flush()
    owner = get_user(db, request.owner_id)
    contact = get_user(db, contact_id)
    attempt = db.get(RecoveryAttempt, request.attempt_id)
    assert owner is not None and contact is not None and attempt is not None
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.request_refused",
        origin,
        user_id=owner.id,
        recovery=attempt.public_id,
        contact=contact.username,
        request=request.public_id,
    )
    recovery.alert_everywhere(
        db,
        ctx,
        origin,
        owner,
        messages.REQUEST_REFUSED,
        contact=contact.username,
        username=owner.username,
    )


def _my_live_request(
    db: Session, ctx: Context, contact_id: int, public_id: str
) -> TrustedContactRequest:
    request = None
    if PUBLIC_ID.fullmatch(public_id):
        request = db.scalar(
            select(TrustedContactRequest).where(
                TrustedContactRequest.public_id == public_id,
                TrustedContactRequest.contact_id == contact_id,
            )
        )
    if request is None:
        raise RequestNotFound()
    if request.closed_at is not None and request.closed_reason != "refused":
        raise RequestNotFound()  # declined or removed meanwhile: no longer theirs to see
    if request.expires_at <= ctx.clock.now() or not _live(db, ctx, request):
        raise RequestExpired()
    return request


def _live(db: Session, ctx: Context, request: TrustedContactRequest) -> bool:
    """Whether the recovery that asked is still open: not finished, expired, cancelled,
    nor killed by a password change (what recovery.open_attempt checks, by row)."""
    attempt = db.get(RecoveryAttempt, request.attempt_id)
    if attempt is None or attempt.state != OPEN or attempt.expires_at <= ctx.clock.now():
        return False
    owner = recovery.attempt_user(db, attempt)
    return (
        owner is not None
        and owner.disabled_at is None
        and recovery.password_stamp(owner) == attempt.password_stamp
    )


def _shown(db: Session, request: TrustedContactRequest) -> HelpRequest:
    state: RequestState = "waiting"
    if request.closed_at is not None:
        state = "refused" if request.closed_reason == "refused" else "closed"
    elif request.vouched_at is not None:
        state = "vouched"
    elif request.code_issued_at is not None:
        state = "code_given"
    return HelpRequest(
        request.public_id,
        username_of(db, request.owner_id),
        request.asked_at,
        request.expires_at,
        state,
        request.code_issued_at,
    )


def _fresh_code(db: Session, ctx: Context, attempt_id: int) -> str:
    """Uniform 8 digits, distinct from the other live codes of this attempt."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        taken = db.scalar(
            select(TrustedContactRequest.id).where(
                TrustedContactRequest.code_digest == vouch_digest(ctx, attempt_id, code)
            )
        )
        if taken is None:
            return code
