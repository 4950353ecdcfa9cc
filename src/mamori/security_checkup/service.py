"""The security checkup: a list of small checks, each grading one thing and naming its fix.

To add a check: write a function with the
`Check` signature that returns a Finding (or None when it does not apply to this
account), and append it to CHECKS. Pages and the API pick it up, titles go through
the catalog like every other string.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.backup_codes.service import remaining_codes
from mamori.context import Context
from mamori.passkeys.service import passkey_count
from mamori.second_factors.methods import Method
from mamori.security.models import SecurityState
from mamori.security.ratings import password_rating
from mamori.security.service import SECURITY_PAGE, security_state
from mamori.trusted_contacts import service as trusted_contacts
from mamori.two_factor import service as two_factor

Status = Literal["ok", "warning", "risk"]
Grade = Literal["good", "fair", "at_risk"]
TWO_FACTOR_PAGE = f"{SECURITY_PAGE}/two-factor"
BACKUP_CODES_PAGE = f"{TWO_FACTOR_PAGE}/backup-codes"
PASSWORD_PAGE = f"{SECURITY_PAGE}/password"
CHECKUP_PAGE = f"{SECURITY_PAGE}/checkup"
# The contact-details feature's page: confirm, add or change the e-mail and phone.
CONTACT_PAGE = f"{SECURITY_PAGE}/contact-details"
PASSKEYS_PAGE = f"{SECURITY_PAGE}/passkeys"
BACKUP_CODES_LOW = 2
REVIEW_EVERY = timedelta(days=180)


@dataclass(frozen=True)
class Finding:
    """One graded item. `title` and `fix` are catalog messages, filled with `values`."""

    code: str
    status: Status
    title: str
    fix: str | None = None
    fix_url: str | None = None
    values: dict[str, object] = field(default_factory=dict)
    # With a count in `values`: the English plural of `title` (ngettext).
    plural: str | None = None


@dataclass(frozen=True)
class Account:
    """What the checks read, loaded once."""

    user: User
    state: SecurityState | None
    factors: list[Method]
    backup_codes_left: int | None
    passkeys: int = 0


Check = Callable[[Session, Context, Account], Finding | None]


def check_two_factor(db: Session, ctx: Context, account: Account) -> Finding:
    if account.factors:
        return Finding("two_factor_on", "ok", "Two-factor authentication is on")
    return Finding(
        "two_factor_off",
        "risk",
        "Two-factor authentication is off",
        "Turn on two-factor authentication",
        TWO_FACTOR_PAGE,
    )


def check_passkey(db: Session, ctx: Context, account: Account) -> Finding:
    """The strongest way in: it works only on mamori's own site, so it cannot be phished."""
    if account.passkeys:
        return Finding(
            "passkey", "ok", "You have a passkey: the strongest way to log in, it can't be phished"
        )
    return Finding(
        "passkey_missing",
        "warning",
        "No passkey: codes and passwords can be phished by fake login pages",
        "Add a passkey",
        PASSKEYS_PAGE,
    )


def check_authenticator_app(db: Session, ctx: Context, account: Account) -> Finding | None:
    if not account.factors:
        return None
    if Method.TOTP in account.factors:
        return Finding("authenticator_app", "ok", "You use an authentication app")
    if account.passkeys:
        return None  # texts are not the only second factor: the passkey is stronger
    return Finding(
        "sms_only",
        "warning",
        "Text messages are your only second factor",
        "Add an authentication app: texts can be redirected by SIM swapping",
        TWO_FACTOR_PAGE,
    )


def check_backup_codes(db: Session, ctx: Context, account: Account) -> Finding | None:
    if not account.factors:
        return None
    left = account.backup_codes_left or 0
    if left == 0:
        return Finding(
            "backup_codes_none",
            "risk",
            "You have no backup codes left",
            "Get new backup codes",
            BACKUP_CODES_PAGE,
        )
    if left <= BACKUP_CODES_LOW:
        return Finding(
            "backup_codes_low",
            "warning",
            "Only %(count)s backup code left",
            "Get new backup codes",
            BACKUP_CODES_PAGE,
            {"count": left},
            plural="Only %(count)s backup codes left",
        )
    return Finding("backup_codes", "ok", "%(count)s backup codes left", values={"count": left})


def check_email(db: Session, ctx: Context, account: Account) -> Finding:
    user = account.user
    if user.email and user.email_confirmed_at:
        return Finding("email_confirmed", "ok", "Your e-mail address is confirmed")
    if user.email:
        return Finding(
            "email_unconfirmed",
            "warning",
            "Your e-mail address isn't confirmed",
            "Confirm your e-mail address",
            CONTACT_PAGE,
        )
    return Finding(
        "email_missing",
        "warning",
        "No e-mail address: we can't alert you or help you back in",
        "Add an e-mail address",
        CONTACT_PAGE,
    )


def check_phone(db: Session, ctx: Context, account: Account) -> Finding:
    user = account.user
    if user.phone and user.phone_confirmed_at:
        return Finding("phone_confirmed", "ok", "Your phone number is confirmed")
    if user.phone:
        return Finding(
            "phone_unconfirmed",
            "warning",
            "Your phone number isn't confirmed",
            "Confirm your phone number",
            CONTACT_PAGE,
        )
    return Finding(
        "phone_missing",
        "warning",
        "No phone number to get back in with",
        "Add a phone number",
        CONTACT_PAGE,
    )


def check_password(db: Session, ctx: Context, account: Account) -> Finding:
    rating = password_rating(account.state, account.user)
    change = "Change your password"
    if rating is None:
        return Finding(
            "password_unrated",
            "warning",
            "We haven't rated your password yet; it is rated at your next login",
            change,
            PASSWORD_PAGE,
        )
    score, common = rating
    if common:
        return Finding(
            "password_common",
            "risk",
            "Your password is one of the most common passwords",
            change,
            PASSWORD_PAGE,
        )
    if score < 3:
        return Finding(
            "password_weak", "warning", "Your password is easy to guess", change, PASSWORD_PAGE
        )
    return Finding("password_strong", "ok", "Your password is hard to guess")


def check_review(db: Session, ctx: Context, account: Account) -> Finding:
    reviewed = account.state.reviewed_at if account.state else None
    if reviewed is None:
        return Finding(
            "review_never",
            "warning",
            "You haven't reviewed your security yet",
            "Review it, then mark it as reviewed",
            CHECKUP_PAGE,
        )
    if ctx.clock.now() - reviewed > REVIEW_EVERY:
        return Finding(
            "review_due",
            "warning",
            "Your last review was more than 6 months ago",
            "Review it, then mark it as reviewed",
            CHECKUP_PAGE,
        )
    return Finding("reviewed", "ok", "You reviewed your security recently")


def check_trusted_contacts(db: Session, ctx: Context, account: Account) -> Finding:
    """Enough contacts who can vouch for you (3 to 5, none declined) to get back in."""
    count = trusted_contacts.active_contact_count(db, account.user.id)
    if trusted_contacts.is_available(db, ctx, account.user.id):
        return Finding(
            "trusted_contacts",
            "ok",
            "%(count)s trusted contacts can help you back in",
            values={"count": count},
        )
    return Finding(
        "trusted_contacts_missing",
        "warning",
        "Not enough trusted contacts to help you back in",
        "Choose trusted contacts",
        trusted_contacts.SETTINGS_PAGE,
    )


# A new check is a function above, added here: pages and the API pick it up.
CHECKS: list[Check] = [
    check_two_factor,
    check_passkey,
    check_authenticator_app,
    check_backup_codes,
    check_email,
    check_phone,
    check_trusted_contacts,
    check_password,
    check_review,
]


@dataclass(frozen=True)
class Checkup:
    grade: Grade
    findings: list[Finding]
    reviewed_at: datetime | None


def run_checkup(db: Session, ctx: Context, user: User) -> Checkup:
    state = security_state(db, user.id)
    account = Account(
        user=user,
        state=state,
        factors=two_factor.enabled_factors(db, user.id)
        if two_factor.is_two_factor_on(db, user.id)
        else [],
        backup_codes_left=remaining_codes(db, user.id),
        passkeys=passkey_count(db, user.id),
    )
    findings = [found for check in CHECKS if (found := check(db, ctx, account)) is not None]
    return Checkup(grade_of(findings), findings, state.reviewed_at if state else None)


def grade_of(findings: list[Finding]) -> Grade:
    statuses = {finding.status for finding in findings}
    if "risk" in statuses:
        return "at_risk"
    if "warning" in statuses:
        return "fair"
    return "good"
