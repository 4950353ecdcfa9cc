"""Contact details: the account's e-mail address and phone number, confirmed by a code.

`users.email` / `users.phone` and their `*_confirmed_at` stay the one truth (login,
alerts and recovery read them). A new address waits in `PendingContactChange` until the
6-digit code sent to it comes back; only then does it replace the old one, confirmed.

- Each code is bound to the account AND the exact address it went to, so a code sent
  to one address can never confirm another.
- Adding, changing and removing need a recent "Confirm it's you". Confirming the
  address already on the account (given at sign-up) does not: it changes nothing an
  attacker could want, and the code goes to the address the owner gave.
- Asking for another account's address answers exactly like any other address (a code
  is sent to it); only once that code proves control of the address does the confirm
  say `address_in_use`, to the person who controls it. Only a confirmed address is
  unique: any number of accounts may hold one unconfirmed (typed at sign-up), which
  neither keeps its owner from it nor tells anyone who the owner is. Another account's
  unconfirmed copy is left alone when someone confirms the address: clearing it would
  tell that account the address had just been proven elsewhere.
- A change or removal tells the old address first (e-mail: an alert; phone: a short
  text without any secret); a phone change is also told by e-mail.
"""

from __future__ import annotations

import contextlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.errors import InvalidEmail, InvalidPhone
from mamori.accounts.models import User
from mamori.accounts.service import (
    email_key,
    find_by_email,
    find_by_phone,
    normalize_email,
    normalize_phone,
)
from mamori.audit.service import Origin, record_event
from mamori.codes.service import (
    Channel,
    CodeRequest,
    mask_destination,
    send_security_code,
    verify_security_code,
)
from mamori.contact_details.errors import AddressInUse, AlreadyConfirmed, NoPendingChange
from mamori.contact_details.models import PendingContactChange
from mamori.context import Context
from mamori.core.i18n import translator
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.quotas import SendQuota
from mamori.notifications.service import alert_user, send_sms
from mamori.sessions.models import LoginSession
from mamori.sessions.service import require_recent_reauthentication

Kind = Literal["email", "phone"]
KINDS: tuple[Kind, ...] = ("email", "phone")
PURPOSE: dict[Kind, str] = {"email": "enroll_email", "phone": "enroll_sms"}
CHANNEL: dict[Kind, Channel] = {"email": "email", "phone": "sms"}
SECURITY_PAGE = "/accounts/center/password-and-security"
# Codes one account may have sent to its new addresses in an hour, whatever the
# addresses: the per-address and per-IP quotas alone would let one account spray codes
# at many strangers' addresses.
SENDS_PER_ACCOUNT_HOUR = 10


@dataclass(frozen=True)
class ContactDetails:
    email: str | None
    email_confirmed: bool
    phone: str | None
    phone_confirmed: bool
    pending_email: str | None  # waiting for its code
    pending_phone: str | None


def contact_details(db: Session, ctx: Context, user: User) -> ContactDetails:
    return ContactDetails(
        email=user.email,
        email_confirmed=user.email is not None and user.email_confirmed_at is not None,
        phone=user.phone,
        phone_confirmed=user.phone is not None and user.phone_confirmed_at is not None,
        pending_email=pending_address(db, ctx, user.id, "email"),
        pending_phone=pending_address(db, ctx, user.id, "phone"),
    )


def normalize_address(ctx: Context, kind: Kind, typed: str) -> str:
    """E-mail as typed (NFKC), phone to E.164. Control, format (bidi, zero-width) and
    unassigned characters are refused: they would only hide what an address really is."""
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in typed):
        raise InvalidEmail() if kind == "email" else InvalidPhone()
    if kind == "email":
        return normalize_email(typed)
    return normalize_phone(typed, ctx.settings.default_phone_region)


def start_change(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    session: LoginSession,
    kind: Kind,
    typed: str,
) -> str:
    """Send a code to the address; it becomes the account's only when the code comes back.

    The address already on the account, unconfirmed, is simply confirmed this way.
    Returns the address as mamori reads it (E.164 for a phone)."""
    address = normalize_address(ctx, kind, typed)
    if _is_current(user, kind, address):
        if _confirmed_at(user, kind) is not None:
            raise AlreadyConfirmed()
    else:
        require_recent_reauthentication(ctx.clock, ctx.settings, session)
    _send_code(db, ctx, origin, user, kind, address)
    if not _is_current(user, kind, address):
        record_event(
            db,
            ctx.clock,
            f"contact.{kind}_change_requested",
            origin,
            user_id=user.id,
            to=mask_destination(CHANNEL[kind], address),
        )
    return address


def send_code_again(db: Session, ctx: Context, origin: Origin, user: User, kind: Kind) -> str:
    """A new code for the address waiting for one, else for the unconfirmed current one."""
    address = pending_address(db, ctx, user.id, kind)
    if address is None:
        current = _current(user, kind)
        if current is None:
            raise NoPendingChange()
        if _confirmed_at(user, kind) is not None:
            raise AlreadyConfirmed()
        address = current
    _send_code(db, ctx, origin, user, kind, address)
    return address


def confirm_change(
    db: Session, ctx: Context, origin: Origin, user: User, kind: Kind, typed: str
) -> None:
    """The code sent to the pending address makes it the account's, confirmed."""
    address = pending_address(db, ctx, user.id, kind)
    if address is None:
        raise NoPendingChange()
    binding = _binding(user.id, kind, address)
    verify_security_code(db, ctx, origin, purpose=PURPOSE[kind], binding=binding, typed=typed)
    _forget_pending(db, user.id, kind)
    if _is_current(user, kind, address):
        _set_address(db, ctx, origin, user, kind, address)
        record_event(db, ctx.clock, f"contact.{kind}_confirmed", origin, user_id=user.id)
        return
    holder = find_by_email(db, address) if kind == "email" else find_by_phone(db, address)
    if holder is not None and holder.id != user.id:
        _refuse_taken(db, ctx, origin, user, kind)
    previous = _current(user, kind)
    _tell_before_change(db, ctx, user, kind, address, removed=False)
    _set_address(db, ctx, origin, user, kind, address)
    record_event(
        db,
        ctx.clock,
        f"contact.{kind}_changed",
        origin,
        user_id=user.id,
        added=previous is None,
        to=mask_destination(CHANNEL[kind], address),
    )


def remove_address(
    db: Session, ctx: Context, origin: Origin, user: User, session: LoginSession, kind: Kind
) -> None:
    """Remove the e-mail or phone (and any change waiting for a code). Nothing there:
    nothing happens."""
    require_recent_reauthentication(ctx.clock, ctx.settings, session)
    _forget_pending(db, user.id, kind)
    if _current(user, kind) is None:
        return
    _tell_before_change(db, ctx, user, kind, None, removed=True)
    if kind == "email":
        user.email = user.email_key = user.email_confirmed_at = None
    else:
        user.phone = user.phone_confirmed_at = None
    db.flush()
    record_event(db, ctx.clock, f"contact.{kind}_removed", origin, user_id=user.id)


def current_address(user: User, kind: Kind) -> str | None:
    return _current(user, kind)


def unconfirmed_kinds(user: User) -> list[Kind]:
    """The addresses on the account still waiting to be confirmed: e-mail first."""
    return [k for k in KINDS if _current(user, k) is not None and _confirmed_at(user, k) is None]


def pending_address(db: Session, ctx: Context, user_id: int, kind: Kind) -> str | None:
    row = _pending(db, user_id, kind)
    return ctx.keyring.unseal(row.sealed_address, _seal_context(user_id, kind)) if row else None


# --- the parts -----------------------------------------------------------------------


def account_quota() -> SendQuota:
    return SendQuota(
        name="contact-code-account",
        window=timedelta(hours=1),
        limit=SENDS_PER_ACCOUNT_HOUR,
    )


def _send_code(
    db: Session, ctx: Context, origin: Origin, user: User, kind: Kind, address: str
) -> None:
    """Send first, remember after: a refused send (throttled, undeliverable) leaves the
    pending change as it was."""
    send_security_code(
        db,
        ctx,
        origin,
        CodeRequest(
            user_id=user.id,
            purpose=PURPOSE[kind],
            binding=_binding(user.id, kind, address),
            channel=CHANNEL[kind],
            destination=address,
            locale=user.locale,
            also_counts_against=[(account_quota(), f"user:{user.id}")],
        ),
    )
    _remember_pending(db, ctx, user.id, kind, address)


def _binding(user_id: int, kind: Kind, address: str) -> str:
    # The exact address is part of the binding: a code for A never confirms B.
    key = email_key(address) if kind == "email" else address
    return f"contact:{user_id}:{kind}:{key}"


def _seal_context(user_id: int, kind: Kind) -> str:
    return f"pending-contact:{user_id}:{kind}"


def _pending(db: Session, user_id: int, kind: Kind) -> PendingContactChange | None:
    return db.scalar(
        select(PendingContactChange).where(
            PendingContactChange.user_id == user_id, PendingContactChange.kind == kind
        )
    )


def _remember_pending(db: Session, ctx: Context, user_id: int, kind: Kind, address: str) -> None:
    """Insert or replace in one statement: two requests at once cannot both insert."""
    sealed = ctx.keyring.seal(address, _seal_context(user_id, kind))
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(PendingContactChange).values(
        user_id=user_id, kind=kind, sealed_address=sealed, created_at=ctx.clock.now()
    )
    db.execute(
        insert.on_conflict_do_update(
            index_elements=[PendingContactChange.user_id, PendingContactChange.kind],
            set_={"sealed_address": sealed, "created_at": ctx.clock.now()},
        )
    )
    db.expire_all()  # the upsert bypassed the identity map


def _forget_pending(db: Session, user_id: int, kind: Kind) -> None:
    db.execute(
        delete(PendingContactChange).where(
            PendingContactChange.user_id == user_id, PendingContactChange.kind == kind
        )
    )


def _current(user: User, kind: Kind) -> str | None:
    return user.email if kind == "email" else user.phone


def _confirmed_at(user: User, kind: Kind) -> datetime | None:
    return user.email_confirmed_at if kind == "email" else user.phone_confirmed_at


def _is_current(user: User, kind: Kind, address: str) -> bool:
    current = _current(user, kind)
    if current is None:
        return False
    return email_key(current) == email_key(address) if kind == "email" else current == address


def _set_address(
    db: Session, ctx: Context, origin: Origin, user: User, kind: Kind, address: str
) -> None:
    """Another account may take the address between our look-up and this write: the
    unique key refuses it, and the answer is the same as if it had come first."""
    try:
        with db.begin_nested():
            if kind == "email":
                user.email, user.email_key = address, email_key(address)
                user.email_confirmed_at = ctx.clock.now()
            else:
                user.phone, user.phone_confirmed_at = address, ctx.clock.now()
            db.flush()
    except IntegrityError:
        db.refresh(user)
        _refuse_taken(db, ctx, origin, user, kind)


def _refuse_taken(db: Session, ctx: Context, origin: Origin, user: User, kind: Kind) -> None:
    record_event(
        db,
        ctx.clock,
        f"contact.{kind}_change_refused",
        origin,
        user_id=user.id,
        outcome="failure",
        reason="address_in_use",
    )
    raise AddressInUse()


def _tell_before_change(
    db: Session, ctx: Context, user: User, kind: Kind, new: str | None, *, removed: bool
) -> None:
    """Alerts go out while the old address is still the account's."""
    if kind == "email":
        if user.email is None:
            return
        if removed:
            alert_user(
                db,
                ctx,
                user,
                "Your e-mail address was removed",
                "The e-mail address %(address)s was removed from your account %(username)s.",
                address=user.email,
                username=user.username,
            )
        else:
            alert_user(
                db,
                ctx,
                user,
                "Your e-mail address was changed",
                "The e-mail address of your account %(username)s was changed to %(address)s.",
                address=mask_destination("email", new or ""),
                username=user.username,
            )
        return
    if user.phone is None:
        alert_user(
            db,
            ctx,
            user,
            "A phone number was added",
            "A phone number (%(phone)s) was added to your account %(username)s.",
            phone=mask_destination("sms", new or ""),
            username=user.username,
        )
        return
    _text_old_phone(db, ctx, user, user.phone)
    if removed:
        alert_user(
            db,
            ctx,
            user,
            "Your phone number was removed",
            "The phone number %(phone)s was removed from your account %(username)s.",
            phone=mask_destination("sms", user.phone),
            username=user.username,
        )
    else:
        alert_user(
            db,
            ctx,
            user,
            "Your phone number was changed",
            "The phone number of your account %(username)s was changed to %(phone)s.",
            phone=mask_destination("sms", new or ""),
            username=user.username,
        )


def _text_old_phone(db: Session, ctx: Context, user: User, phone: str) -> None:
    """Short, no secret and no username: an old number may already belong to someone else."""
    _ = translator(user.locale)
    body = _(
        "mamori: this number was removed from your account. If this wasn't you, "
        "secure your account: %(link)s",
        link=f"{ctx.settings.base_url.rstrip('/')}{SECURITY_PAGE}",
    )
    # The change stands even if the text could not go out; the row says it failed.
    with contextlib.suppress(DeliveryFailed):
        send_sms(db, ctx, to=phone, body=body, user_id=user.id, kind="alert")
