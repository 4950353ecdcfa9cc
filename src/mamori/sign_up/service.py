"""Sign-up: a new account, and a word to whoever already holds the address it typed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.errors import UsernameTaken
from mamori.accounts.models import User
from mamori.accounts.service import (
    check_new_password,
    email_key,
    find_by_email,
    find_by_phone,
    find_by_username,
    minimum_password_length,
    normalize_email,
    normalize_phone,
    normalize_username,
)
from mamori.audit.service import Origin, record_event
from mamori.codes.service import mask_destination
from mamori.contact_details import service as contact_details
from mamori.core.db import kept_or_undone
from mamori.core.errors import MamoriError
from mamori.core.throttle import Policy
from mamori.notifications.service import alert_user
from mamori.security.ratings import rate_password
from mamori.settings import Settings

if TYPE_CHECKING:
    from mamori.context import Context


def signup_policy(settings: Settings) -> Policy:
    return Policy(
        name="signup-ip",
        window=timedelta(hours=1),
        free=settings.signup_ip_per_hour,
        max_delay=timedelta(hours=1),
    )


# "Someone tried to sign up with your e-mail" at most this often a day per owner and
# kind: anyone can type the address again and again.
CLAIM_ALERTS_PER_DAY = 1


def claim_alert_policy() -> Policy:
    # Counted, never blocking: the limit is checked where the alert is written.
    return Policy(
        name="address-claim-alert",
        window=timedelta(days=1),
        free=10**6,
        max_delay=timedelta(hours=1),
    )


def sign_up(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    username: str,
    password: str,
    email: str | None = None,
    phone: str | None = None,
    locale: str = "en",
) -> User:
    """Create an account. The e-mail and phone are kept as typed, unconfirmed.

    Whether another account already holds one confirmed changes nothing the new account
    can see: only a confirmed address is unique, logs in or recovers, and the code that
    confirms one goes to the address itself. Its owner is told someone tried (issue 16).
    """
    settings, clock = ctx.settings, ctx.clock
    ctx.throttle.check(db, signup_policy(settings), origin.ip or "unknown")
    username = normalize_username(username)
    email = normalize_email(email) if email else None
    phone = normalize_phone(phone, settings.default_phone_region) if phone else None
    check_new_password(
        settings,
        password,
        username,
        email.split("@")[0] if email else None,
        min_length=minimum_password_length(settings, two_factor_on=False),
    )
    # Counted before the hash, whatever the outcome: the hash is the cost being limited.
    ctx.throttle.record_failure(db, signup_policy(settings), origin.ip or "unknown")
    if find_by_username(db, username) is not None:
        raise UsernameTaken()
    password_hash = ctx.hasher.hash(password)
    user = User(
        username=username,
        username_key=username.casefold(),
        email=email,
        email_key=email_key(email) if email else None,
        phone=phone,
        password_hash=password_hash,
        password_changed_at=clock.now(),
        locale=locale,
        created_at=clock.now(),
    )
    # A sign-up running at the same moment may take the username (PostgreSQL): the
    # unique key refuses the second, as if it had come first.
    if not _inserted(db, user):
        raise UsernameTaken()
    record_event(db, clock, "account.signed_up", origin, user_id=user.id)
    rate_password(db, ctx, user, password)
    if email:
        _tell_owner_of(db, ctx, origin, user, "email", find_by_email(db, email))
    if phone:
        _tell_owner_of(db, ctx, origin, user, "phone", find_by_phone(db, phone))
    return user


def send_confirmation_codes(db: Session, ctx: Context, origin: Origin, user: User) -> None:
    """A code to each address typed at sign-up, at once: only a confirmed one can log in,
    get alerts' codes or recover the account.

    A refused send (throttled, undeliverable) keeps the new account: the next page offers
    to send again, as every owner of the address would see it."""
    for kind in contact_details.KINDS:
        if contact_details.current_address(user, kind) is None:
            continue
        try:
            with db.begin_nested():
                contact_details.send_code_again(db, ctx, origin, user, kind)
        except MamoriError:
            continue


@dataclass
class _StandIn:
    """Whom a rehearsed alert is written to: it is rolled back, never sent."""

    id: int
    email: str | None
    locale: str
    phone: str | None


def _tell_owner_of(
    db: Session, ctx: Context, origin: Origin, newcomer: User, kind: str, owner: User | None
) -> None:
    """Audit every try on the owner's account; alert them at most once a day per kind.

    A free address goes through the same steps in a savepoint that is rolled back (the
    newcomer standing in for an owner), so the answer takes as long either way. The
    alert is queued (the worker sends it after the answer) and names nothing of the new
    account: its username could be anything, the owner's own name included."""
    with kept_or_undone(db, keep=owner is not None):
        told = owner or newcomer
        # The stand-in's counter has a key no owner's can have: it is never one's budget.
        subject = f"{told.id}:{kind}" if owner is not None else f"new:{told.id}:{kind}"
        policy = claim_alert_policy()
        alerted = ctx.throttle.failures(db, policy, subject) < CLAIM_ALERTS_PER_DAY
        ctx.throttle.record_failure(db, policy, subject)
        record_event(
            db,
            ctx.clock,
            "account.address_claim_attempted",
            origin,
            user_id=told.id,
            kind=kind,
            alerted=alerted,
        )
        # Past the day's alert, or for an owner without an e-mail, the alert is written
        # and undone: the same work whoever holds the address.
        recipient = told if told.email else _StandIn(told.id, "-@invalid", told.locale, told.phone)
        with kept_or_undone(db, keep=alerted and recipient is told):
            _alert_claimed(db, ctx, recipient, kind)


def _alert_claimed(db: Session, ctx: Context, owner: User | _StandIn, kind: str) -> None:
    if kind == "email":
        alert_user(
            db,
            ctx,
            owner,
            "Someone tried to sign up with your e-mail",
            "Someone created a new account and typed this e-mail address. It stays "
            "yours: the other account cannot confirm it, log in or recover with it "
            "without a code sent to this address. Never share such a code.",
        )
        return
    alert_user(
        db,
        ctx,
        owner,
        "Someone tried to sign up with your phone number",
        "Someone created a new account and typed the phone number %(phone)s of your "
        "account. It stays yours: the other account cannot confirm it, log in or "
        "recover with it without a code texted to it. Never share such a code.",
        phone=mask_destination("sms", owner.phone or ""),
    )


def _inserted(db: Session, user: User) -> bool:
    """Add the user unless a unique key is already taken (then nothing is added)."""
    try:
        with db.begin_nested():
            db.add(user)
    except IntegrityError:
        return False
    return True
