"""Proving who you are: security codes, the password, the app or a backup code.

Each proof is recorded once; the first tells the owner a recovery is under way."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.errors import WrongPassword
from mamori.accounts.service import confirm_password
from mamori.audit.service import Origin, record_event
from mamori.codes import service as codes
from mamori.context import Context
from mamori.core.errors import ChallengeExpired, CodeAlreadyUsed, InvalidCode
from mamori.core.throttle import Policy
from mamori.passkeys import service as passkeys
from mamori.recovery import messages
from mamori.recovery.alerts import alert_everywhere
from mamori.recovery.attempts import (
    CODE_PROOFS,
    RECEIVED,
    SECOND_FACTORS,
    attempt_user,
    confirmed_destination,
    open_attempt,
    proofs_of,
    typed_context,
)
from mamori.recovery.errors import OptionNotAvailable, SecurityCodeFirst
from mamori.recovery.models import RecoveryAttempt, RecoveryProof
from mamori.recovery.progress import RecoveryStatus, recovery_options, status_of
from mamori.second_factors.methods import Attempt
from mamori.security import service as security
from mamori.settings import Settings
from mamori.two_factor.verify import Proof, Step, verify_second_factor


def wrong_code_policy(settings: Settings) -> Policy:
    """Wrong security codes across every recovery of one typed login: each new recovery
    brings a new code, but not a fresh set of guesses (growing waits, at most an hour).
    At 100 the typed login waits a day, no more: anyone can type a username, so a longer
    block would be a way to keep its owner out of recovery."""
    return Policy(
        name="recovery-code",
        window=timedelta(hours=24),
        free=10,
        max_delay=timedelta(hours=1),
        lock_at=100,
        lock_for=timedelta(hours=24),
    )


def add_proof(
    db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt, kind: str
) -> None:
    """Record one proof (once); the first one tells the owner a recovery is under way."""
    proofs = proofs_of(db, attempt)
    if kind in proofs:
        return
    try:
        with db.begin_nested():
            db.add(RecoveryProof(attempt_id=attempt.id, kind=kind, proven_at=ctx.clock.now()))
    except IntegrityError:
        return  # the same proof, recorded by a request running at the same moment
    record_event(
        db,
        ctx.clock,
        "recovery.proof_accepted",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        proof=kind,
    )
    user = attempt_user(db, attempt)
    if not proofs and user is not None:
        alert_everywhere(
            db,
            ctx,
            origin,
            user,
            messages.STARTED,
            username=user.username,
        )


def send_recovery_code(
    db: Session, ctx: Context, origin: Origin, token: str, option: str
) -> codes.SentCode:
    """Send a code to one of the offered destinations (never to an unconfirmed one)."""
    attempt = open_attempt(db, ctx, token)
    offered = {d.option: d for d in recovery_options(db, ctx, attempt, proofs_of(db, attempt))}
    if option not in offered:
        raise OptionNotAvailable()
    channel: codes.Channel = "sms" if option == "sms" else "email"
    user = attempt_user(db, attempt)
    real = confirmed_destination(db, user, channel) if user else None
    sent = codes.send_security_code(
        db,
        ctx,
        origin,
        codes.CodeRequest(
            user_id=user.id if user and real else None,
            purpose="recovery",
            binding=_code_binding(attempt, channel),
            channel=channel,
            destination=real or _stand_in(ctx, attempt, channel),
            locale=user.locale if user else "en",
            deliver=real is not None,
            # A real send must neither take longer nor fail differently than a withheld one:
            # the worker hands it over after the answer.
            in_background=True,
            fail_quietly=True,
        ),
    )
    # Named as offered, so an unknown address reads exactly like a known one.
    return replace(sent, destination=offered[option].masked)


def prove_with_code(
    db: Session, ctx: Context, origin: Origin, token: str, option: str, code: str
) -> RecoveryStatus:
    attempt = open_attempt(db, ctx, token)
    if option not in ("email", "sms"):
        raise OptionNotAvailable()
    channel: codes.Channel = "sms" if option == "sms" else "email"
    # Keyed by what was typed to start, never by the account: no wait tells which
    # e-mail or phone belongs to which username.
    subject = attempt.login_digest or f"recovery:{attempt.id}"
    # Counted before the code is checked, so a burst gets exactly the free tries.
    ctx.throttle.reserve(db, wrong_code_policy(ctx.settings), subject)
    try:
        codes.verify_security_code(
            db, ctx, origin, purpose="recovery", binding=_code_binding(attempt, channel), typed=code
        )
    except (ChallengeExpired, CodeAlreadyUsed):
        # No live code to guess against: not a wrong guess.
        ctx.throttle.give_back(db, wrong_code_policy(ctx.settings), subject)
        raise
    ctx.throttle.clear(db, wrong_code_policy(ctx.settings), subject)
    if attempt.user_id is None:  # a stand-in code cannot be typed right: defensive only
        raise InvalidCode()
    add_proof(db, ctx, origin, attempt, CODE_PROOFS[channel])
    return status_of(db, ctx, attempt)


def prove_with_password(
    db: Session, ctx: Context, origin: Origin, token: str, password: str
) -> RecoveryStatus:
    """The password as the second proof ("phone lost, password known").

    Only after a code: otherwise recovery would be a second, unthrottled login form."""
    attempt = open_attempt(db, ctx, token)
    _require_received_proof(db, attempt)
    user = attempt_user(db, attempt)
    assert user is not None  # a received proof exists only for a real account
    if not confirm_password(db, ctx, user, password):
        record_event(
            db,
            ctx.clock,
            "recovery.proof_failed",
            origin,
            user_id=user.id,
            outcome="failure",
            recovery=attempt.public_id,
            proof="password",
        )
        raise WrongPassword()
    add_proof(db, ctx, origin, attempt, "password")
    return status_of(db, ctx, attempt)


def prove_with_second_factor(
    db: Session, ctx: Context, origin: Origin, token: str, method: str, code: str
) -> RecoveryStatus:
    """The app or a backup code: two-factor then stays on. Counted like the login step."""
    attempt = open_attempt(db, ctx, token)
    _require_received_proof(db, attempt)
    user = attempt_user(db, attempt)
    assert user is not None
    step = Step(
        accepts=SECOND_FACTORS,
        failed_event="recovery.proof_failed",
        method_detail="proof",
        details={"recovery": attempt.public_id},
        unavailable=OptionNotAvailable,
    )
    lane = security.trusted_lane(db, ctx, user, origin, None)
    binding = _passkey_binding(attempt)
    proof = Proof(
        Attempt(user, origin, lane=lane, purpose="recovery", binding=binding), method, code
    )
    proven = verify_second_factor(db, ctx, step, proof)
    add_proof(db, ctx, origin, attempt, proven.method.value)
    return status_of(db, ctx, attempt)


def recovery_passkey_options(db: Session, ctx: Context, token: str) -> str:
    """Options for a passkey as the second proof, bound to this recovery. No credential
    is named in them: the browser offers what it holds."""
    attempt = open_attempt(db, ctx, token)
    _require_received_proof(db, attempt)
    user = attempt_user(db, attempt)
    if user is None or not passkeys.has_passkeys(db, user.id):
        raise OptionNotAvailable()
    return passkeys.second_factor_options(db, ctx, user, _passkey_binding(attempt), name_them=False)


def _passkey_binding(attempt: RecoveryAttempt) -> str:
    return f"recovery:{attempt.id}"


def _require_received_proof(db: Session, attempt: RecoveryAttempt) -> None:
    if attempt.user_id is None or not RECEIVED & set(proofs_of(db, attempt)):
        raise SecurityCodeFirst()


def _code_binding(attempt: RecoveryAttempt, channel: str) -> str:
    # One code per recovery and channel: an e-mailed and a texted code are two proofs.
    return f"recovery:{attempt.id}:{channel}"


def _stand_in(ctx: Context, attempt: RecoveryAttempt, channel: str) -> str:
    """Where a code is "sent" when nothing may be: the address as typed (for its quota)."""
    if attempt.typed_sealed:
        return ctx.keyring.unseal(attempt.typed_sealed, typed_context(attempt))
    return "nobody@invalid.example" if channel == "email" else "+10000000000"
