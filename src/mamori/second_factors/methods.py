"""What every second factor is: a `Method` and the `SecondFactor` protocol.

Low on purpose: the authenticator app (totp/), backup codes (backup_codes/) and texted or
e-mailed codes (two_factor/security_codes.py) implement it without importing the registry
that lists them (two_factor/registry.py). A passkey (passkeys/) is one more."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.context import Context


class Method(StrEnum):
    """Stored, sent in API JSON and compared in templates as exactly these strings."""

    TOTP = "totp"
    SMS = "sms"
    EMAIL = "email"
    BACKUP_CODE = "backup_code"
    PASSKEY = "passkey"

    @classmethod
    def named(cls, text: str) -> Method | None:
        """The method a form or JSON body names, or None."""
        try:
            return cls(text)
        except ValueError:
            return None


# In the owner's words; catalog messages, translated where they are shown. Keyed by
# Method, so the plain strings in audit details find their name too.
METHOD_NAMES: dict[str, str] = {
    Method.TOTP: "authenticator app",
    Method.SMS: "text message",
    Method.EMAIL: "e-mail",
    Method.BACKUP_CODE: "backup code",
    Method.PASSKEY: "passkey",
}


# How each method counts in OpenID Connect's `amr` (RFC 8176): a code from an app or a
# backup-code list is a one-time password; e-mail has no value of its own there.
AMR_VALUES: dict[str, str] = {
    Method.TOTP: "otp",
    Method.SMS: "sms",
    Method.EMAIL: "otp",
    Method.BACKUP_CODE: "otp",
    # A passkey is proof of possession of a key (RFC 8176 "hwk"), whether the key lives in
    # a security key or syncs through a password manager: the server cannot tell reliably.
    Method.PASSKEY: "hwk",
}


@dataclass(frozen=True)
class Attempt:
    """Who proves a second factor, from where, and what a sent code belongs to."""

    user: User
    origin: Origin
    # The trusted device's own failure counter (`security.trusted_lane`); None: shared.
    lane: str | None = None
    # A texted or e-mailed code belongs to one purpose and binding ("login:<challenge>").
    purpose: str = "login"
    binding: str = ""


@dataclass(frozen=True)
class Proven:
    """Which method proved it: the audit's factor, and later OpenID Connect's `amr`."""

    method: Method
    # After a backup code, how many are left: at 0 the person is sent to make new ones.
    backup_codes_left: int | None = None


class SecondFactor(Protocol):
    method: Method

    def available(self, db: Session, ctx: Context, user: User) -> bool:
        """Whether this person can prove it this way now."""
        ...

    def verify(self, db: Session, ctx: Context, attempt: Attempt, typed: str) -> Proven:
        """Raise InvalidCode, CodeAlreadyUsed, ClockOutOfSync or ChallengeExpired."""
        ...


class SetUpFactor(SecondFactor, Protocol):
    """A method the person sets up (the app, a phone): it turns two-factor on."""

    def is_set_up(self, db: Session, user_id: int) -> bool: ...

    def remove(self, db: Session, user_id: int) -> None: ...


class SendsCodes(SecondFactor, Protocol):
    """A method whose code is sent for each attempt (a text message, an e-mail)."""

    def send(self, db: Session, ctx: Context, attempt: Attempt) -> str:
        """Send a code for this attempt; returns where to, masked."""
        ...
