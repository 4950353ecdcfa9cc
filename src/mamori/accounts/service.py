"""Accounts: what an account is made of, finding one by what a person types, its password."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from datetime import timedelta
from typing import TYPE_CHECKING

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.errors import (
    InvalidEmail,
    InvalidPhone,
    InvalidUsername,
    ReservedUsername,
    WeakPassword,
)
from mamori.accounts.models import User
from mamori.accounts.passwords import password_problem
from mamori.core.i18n import default_zone, known_zone
from mamori.core.throttle import Policy
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


def minimum_password_length(settings: Settings, *, two_factor_on: bool) -> int:
    """15 where the password is the only factor (NIST SP 800-63B-4), 8 with two-factor on.

    The caller says whether it is on (an account not made yet has no second factor):
    two_factor's service builds on this module, so this one cannot ask it."""
    if two_factor_on:
        return settings.password_min_length
    return settings.password_min_length_single_factor


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


def settle_time_zone(user: User, browser_zone: str | None, locale: str) -> str:
    """The person's time zone. Until they have one, the browser's (sent by the pages'
    script), or without a script the usual one for their language; kept from then on."""
    zone = known_zone(user.time_zone)
    if zone is None:
        zone = user.time_zone = known_zone(browser_zone) or default_zone(locale)
    return zone
