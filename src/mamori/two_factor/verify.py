"""Proving a second factor, the same way wherever it is asked for: the login's second
step, "Confirm it's you" and recovery's proofs.

One function owns the order: is the method offered here and available to this person,
may the account try now (the per-device throttle), the method's own check, and then
either the failure (counted, audited, the owner alerted when it locks) or the reset of
the trusted device's counter."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from mamori.audit.service import record_event
from mamori.context import Context
from mamori.core.errors import ChallengeExpired, CodeAlreadyUsed, InvalidCode, MamoriError
from mamori.second_factors.methods import Attempt, Method, Proven
from mamori.totp.errors import ClockOutOfSync
from mamori.two_factor.errors import MethodNotAvailable
from mamori.two_factor.registry import FACTORS, SENDERS
from mamori.two_factor.service import (
    check_second_factor_allowed,
    clear_second_factor_failures,
    record_second_factor_failure,
)

# What a wrong answer raises; each one counts. A refusal before any code is checked (a
# wait, a lock, a method not offered) counts nothing.
WRONG_ANSWERS = (InvalidCode, CodeAlreadyUsed, ClockOutOfSync, ChallengeExpired)


@dataclass(frozen=True)
class Step:
    """Where a second factor is proven: which methods it takes, and how a wrong code is
    audited (the event, the detail that names the method, any details of its own)."""

    accepts: frozenset[Method]
    failed_event: str
    method_detail: str
    details: Mapping[str, str] = field(default_factory=dict)
    unavailable: type[MamoriError] = MethodNotAvailable


@dataclass(frozen=True)
class Proof:
    """One try: who, the method as the form or JSON body named it, and what was typed."""

    attempt: Attempt
    method: str
    typed: str


def verify_second_factor(db: Session, ctx: Context, step: Step, proof: Proof) -> Proven:
    """Check what was typed against the one method chosen, never every factor (a wrong
    guess would burn another factor's tries). Raises the method's own error."""
    attempt = proof.attempt
    method = offered_method(db, ctx, step, proof)
    check_second_factor_allowed(db, ctx, attempt.user.id, attempt.lane)
    try:
        proven = FACTORS[method].verify(db, ctx, attempt, proof.typed)
    except WRONG_ANSWERS as error:
        _count_failure(db, ctx, step, proof, error)
        raise
    if attempt.lane is not None:
        clear_second_factor_failures(db, ctx, attempt.user.id, attempt.lane)
    return proven


def offered_method(db: Session, ctx: Context, step: Step, proof: Proof) -> Method:
    """The named method if this step takes it and this person has it, else the step's
    "not available" error."""
    method = Method.named(proof.method)
    if method is None or method not in step.accepts:
        raise step.unavailable()
    if not FACTORS[method].available(db, ctx, proof.attempt.user):
        raise step.unavailable()
    return method


def _count_failure(db: Session, ctx: Context, step: Step, proof: Proof, error: MamoriError) -> None:
    attempt = proof.attempt
    failures = record_second_factor_failure(db, ctx, attempt.user.id, attempt.lane)
    record_event(
        db,
        ctx.clock,
        step.failed_event,
        attempt.origin,
        user_id=attempt.user.id,
        outcome="failure",
        **step.details,
        **{step.method_detail: proof.method},
        reason=error.code,
        consecutive_failures=failures,
    )


def send_second_factor_code(db: Session, ctx: Context, attempt: Attempt, method: str) -> str:
    """Text or e-mail a code for this attempt; returns where to, masked. Held like a
    wrong code while the account waits or is locked."""
    named = Method.named(method)
    sender = SENDERS.get(named) if named else None
    if sender is None or not sender.available(db, ctx, attempt.user):
        raise MethodNotAvailable()
    check_second_factor_allowed(db, ctx, attempt.user.id, attempt.lane)
    return sender.send(db, ctx, attempt)
