"""Accounts: sign-up, finding an account by what a person types, changing the password."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.errors import (
    InvalidEmail,
    InvalidPhone,
    InvalidUsername,
    ReservedUsername,
    UsernameTaken,
    WeakPassword,
    WrongPassword,
)
from mamori.accounts.models import User
from mamori.accounts.passwords import password_problem
from mamori.audit.service import Origin, record_event
from mamori.codes.service import mask_destination
from mamori.core.db import kept_or_undone
from mamori.core.throttle import Policy
from mamori.notifications.service import alert_user
from mamori.security.ratings import rate_password
from mamori.settings import Settings

if TYPE_CHECKING:
    from mamori.context import Context

USERNAME = re.compile(r"[A-Za-z0-9._]{1,30}")
# Deliberately plain: the address is proven by a confirmation code, not by a regex.
PHONE_LIKE = re.compile(r"[0-9.]+")
# Dashes a Japanese IME or a word processor puts in a phone number; NFKC keeps them.
DASHES = str.maketrans(dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc", "-"))
EMAIL = re.compile(r"[^@\s\x00-\x1f]{1,64}@[^@\s\x00-\x1f]{1,189}\.[^@\s\x00-\x1f.]{2,63}")


def normalize_username(username: str) -> str:
    cleaned = unicodedata.normalize("NFKC", username).strip()
    if not USERNAME.fullmatch(cleaned) or cleaned.strip(".") == "":
        raise InvalidUsername()
    # "09012345678" as a username would shadow that phone number at login.
    if PHONE_LIKE.fullmatch(cleaned):
        raise ReservedUsername()
    return cleaned


def normalize_email(email: str) -> str:
    cleaned = unicodedata.normalize("NFKC", email).strip()
    if len(cleaned) > 254 or not EMAIL.fullmatch(cleaned):
        raise InvalidEmail()
    return cleaned


def email_key(email: str) -> str:
    return email.casefold()


def normalize_phone(phone: str, default_region: str) -> str:
    """Any common notation (090-1234-5678, +81 90 1234 5678, full-width) to E.164."""
    cleaned = unicodedata.normalize("NFKC", phone).translate(DASHES).strip()
    if not cleaned or len(cleaned) > 32 or not re.fullmatch(r"[+0-9()\-. ]+", cleaned):
        raise InvalidPhone()
    try:
        number = phonenumbers.parse(cleaned, default_region)
    except phonenumbers.NumberParseException as exc:
        raise InvalidPhone() from exc
    if not phonenumbers.is_valid_number(number):
        raise InvalidPhone()
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def check_new_password(
    settings: Settings, password: str, *context: str | None, min_length: int | None = None
) -> None:
    """WeakPassword with the reason; `min_length` defaults to MAMORI_PASSWORD_MIN_LENGTH
    (callers that know the account pass `minimum_password_length`)."""
    shortest = settings.password_min_length if min_length is None else min_length
    problem = password_problem(
        password,
        min_length=shortest,
        max_length=settings.password_max_length,
        context=tuple(word for word in context if word),
    )
    if problem:
        raise WeakPassword(problem, min=shortest, max=settings.password_max_length)


def minimum_password_length(db: Session, ctx: Context, user_id: int | None) -> int:
    """15 where the password is the only factor (NIST SP 800-63B-4), 8 with two-factor on.

    `user_id` None is an account not made yet (sign-up): it has no second factor."""
    # Imported here: two_factor's service builds on this module.
    from mamori.two_factor.service import is_two_factor_on

    if user_id is not None and is_two_factor_on(db, user_id):
        return ctx.settings.password_min_length
    return ctx.settings.password_min_length_single_factor


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
        min_length=minimum_password_length(db, ctx, None),
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


def find_by_username(db: Session, username: str) -> User | None:
    return db.scalar(select(User).where(User.username_key == username.casefold()))


def find_by_email(db: Session, email: str) -> User | None:
    """The one account that confirmed this e-mail (an unconfirmed one proves nothing)."""
    return db.scalar(
        select(User).where(User.email_key == email_key(email), User.email_confirmed_at.is_not(None))
    )


def find_by_phone(db: Session, phone: str) -> User | None:
    """The one account that confirmed this phone number."""
    return db.scalar(select(User).where(User.phone == phone, User.phone_confirmed_at.is_not(None)))


def login_key(login: str, default_region: str) -> str | None:
    """What a person typed to log in, in the one form every notation of it shares:
    "email:hana@example.com", "phone:+819012345678" or "username:hana" (None: nothing usable).

    Lookups use it, and so can anything keyed by the typed login (throttles), so that
    "090-1234-5678" and "+81 90 1234 5678" are always one and the same.
    """
    cleaned = unicodedata.normalize("NFKC", login).strip()
    if not cleaned or len(cleaned) > 254 or "\x00" in cleaned:
        return None
    if "@" in cleaned:
        return f"email:{email_key(cleaned)}"
    # Usernames of digits and periods are refused at sign-up, so a phone is never a username.
    with contextlib.suppress(InvalidPhone):
        return f"phone:{normalize_phone(cleaned, default_region)}"
    return f"username:{cleaned.casefold()}"


def find_by_login(db: Session, login: str, default_region: str) -> User | None:
    """What a person types to log in: username, or an e-mail or phone they confirmed
    (several accounts may hold one unconfirmed: typing it is no proof of anything)."""
    key = login_key(login, default_region)
    if key is None:
        return None
    kind, _, value = key.partition(":")
    if kind == "email":
        return find_by_email(db, value)
    if kind == "phone":
        return find_by_phone(db, value)
    return find_by_username(db, value)


def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def confirmation_policy(settings: Settings) -> Policy:
    """A logged-in person typing their password again (reauthentication, password change).

    Throttled per account like login, so a stolen session cannot guess the password.
    """
    return Policy(
        name="reauthenticate",
        window=timedelta(hours=1),
        free=settings.login_account_free_failures,
        max_delay=timedelta(seconds=settings.login_account_max_delay_seconds),
    )


def confirm_password(db: Session, ctx: Context, user: User, password: str) -> bool:
    """Is this the user's password? TooManyAttempts while the account waits out a delay.

    Commits the caller's unit of work: the attempt is counted (reserved) before the hash,
    which then runs outside any transaction, so a burst gets only the free tries."""
    policy, subject = confirmation_policy(ctx.settings), f"user:{user.id}"
    ctx.throttle.reserve(db, policy, subject)
    stored_hash = user.password_hash
    db.commit()
    if not ctx.hasher.verify(stored_hash, password):
        return False
    db.refresh(user)
    if user.password_hash != stored_hash:  # changed while the hash ran: the new one wins
        return False
    ctx.throttle.clear(db, policy, subject)
    return True


def change_password(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    *,
    current_password: str,
    new_password: str,
) -> None:
    """Needs the current password (ASVS 6.2.3). The caller revokes other sessions."""
    clock, settings, hasher = ctx.clock, ctx.settings, ctx.hasher
    check_new_password(
        settings,
        new_password,
        user.username,
        user.email.split("@")[0] if user.email else None,
        min_length=minimum_password_length(db, ctx, user.id),
    )
    if not confirm_password(db, ctx, user, current_password):
        record_event(
            db, clock, "password.change_failed", origin, user_id=user.id, outcome="failure"
        )
        raise WrongPassword()
    user.password_hash = hasher.hash(new_password)
    user.password_changed_at = clock.now()
    rate_password(db, ctx, user, new_password)
    record_event(db, clock, "password.changed", origin, user_id=user.id)
    alert_user(
        db,
        ctx,
        user,
        "Your password was changed",
        "The password of your account %(username)s was changed.",
        username=user.username,
    )
