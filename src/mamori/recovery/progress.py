"""Where a recovery stands: what it has proven, what may come next, whether it is
ready and whether completing it removes two-factor."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.codes import service as codes
from mamori.context import Context
from mamori.recovery.attempts import (
    CODE_PROOFS,
    RECEIVED,
    SECOND_FACTORS,
    Option,
    attempt_user,
    confirmed_destination,
    proofs_of,
)
from mamori.recovery.models import HOLDING, OPEN, RecoveryAttempt
from mamori.two_factor import service as two_factor


@dataclass(frozen=True)
class Destination:
    """Where a code can go, as the person sees it: "h•••o@e•••.com"."""

    option: Option
    masked: str


@dataclass(frozen=True)
class RecoveryStatus:
    """What the person recovering may see. Nothing about the account shows before the
    first proof, so an unknown account and a known one look alike until then."""

    public_id: str
    state: str
    expires_at: datetime
    options: list[Destination]
    proofs: list[str]
    # None until the first proof: only then does it say whether two-factor is on.
    two_factor: bool | None
    # What may be proven next ("password", "totp", "backup_code", "email_code", …).
    next_proofs: list[str] = field(default_factory=list)
    ready: bool = False
    removes_second_factor: bool = False
    # Completing waits out the holding period (two-factor goes, or support approved it).
    waits: bool = False
    takes_effect_at: datetime | None = None


def recovery_options(
    db: Session, ctx: Context, attempt: RecoveryAttempt, proofs: list[str]
) -> list[Destination]:
    """Where a code may go. Named by e-mail or phone: only that address, masked, known or
    not. Named by username (a public handle): the account's confirmed addresses. After
    the first proof (`proofs`: proofs_of, which the caller reads whether or not an account
    was found, so a known address costs no statement more than an unknown one), every
    confirmed address of the account."""
    user = attempt_user(db, attempt)
    proven = user is not None and bool(RECEIVED & set(proofs))
    if attempt.login_kind == "username" or proven:
        found = []
        email = confirmed_destination(db, user, "email")
        if email:
            found.append(Destination("email", codes.mask_destination("email", email)))
        phone = confirmed_destination(db, user, "sms")
        if phone:
            found.append(Destination("sms", codes.mask_destination("sms", phone)))
        return found
    option: Option = "email" if attempt.login_kind == "email" else "sms"
    return [Destination(option, attempt.typed_masked or codes.MASK)]


def status_of(db: Session, ctx: Context, attempt: RecoveryAttempt) -> RecoveryStatus:
    proofs = proofs_of(db, attempt)
    user = attempt_user(db, attempt)
    proven = user is not None and bool(RECEIVED & set(proofs))
    options = recovery_options(db, ctx, attempt, proofs)
    if not proven or user is None:
        return RecoveryStatus(
            attempt.public_id,
            attempt.state,
            attempt.expires_at,
            options,
            proofs if user is not None else [],
            None,
            next_proofs=[CODE_PROOFS[d.option] for d in options] + ["trusted_contacts"],
        )
    two_factor_on = two_factor.is_two_factor_on(db, user.id)
    ready = proofs_suffice(db, ctx, user, attempt, proofs)
    next_proofs: list[str] = []
    if not ready:
        methods = two_factor.login_methods(db, ctx, user)
        second = [m for m in ("passkey", "totp", "backup_code") if m in methods]
        next_proofs = ["password", *second]
        next_proofs += [CODE_PROOFS[d.option] for d in options]
        next_proofs.append("trusted_contacts")
        next_proofs = [p for p in next_proofs if p not in proofs]
    removes = (
        attempt.removes_second_factor
        if attempt.state != OPEN
        else ready and removes_second_factor(db, ctx, user, attempt, proofs)
    )
    return RecoveryStatus(
        attempt.public_id,
        attempt.state,
        attempt.expires_at,
        options,
        proofs,
        two_factor_on,
        next_proofs=next_proofs,
        ready=ready,
        removes_second_factor=removes,
        waits=attempt.state == HOLDING or (ready and (removes or attempt.started_by == "support")),
        takes_effect_at=attempt.takes_effect_at,
    )


def proofs_suffice(
    db: Session, ctx: Context, user: User, attempt: RecoveryAttempt, proofs: list[str]
) -> bool:
    if "support" in proofs:
        return True
    if not RECEIVED & set(proofs):
        return False
    if not two_factor.is_two_factor_on(db, user.id):
        return True
    return len(set(proofs)) >= 2


def removes_second_factor(
    db: Session, ctx: Context, user: User, attempt: RecoveryAttempt, proofs: list[str]
) -> bool:
    """True unless a current second factor is among the proofs."""
    if not two_factor.is_two_factor_on(db, user.id):
        return False
    if SECOND_FACTORS & set(proofs):
        return False
    two_factor_phone = two_factor.confirmed_phone(db, user.id)
    texted = confirmed_destination(db, user, "sms")
    proved_phone = (
        "sms_code" in proofs and two_factor_phone is not None and texted == two_factor_phone.phone
    )
    return not proved_phone
