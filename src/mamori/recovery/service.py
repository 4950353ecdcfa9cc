""" "Can't log in?": getting back into an account without ever bypassing two-factor.

The rules (NIST SP 800-63B-4 §4.2, OWASP ASVS 6.4, DESIGN.md):

- A recovery starts from a username, e-mail or phone. The answer looks the same whether
  or not an account matches: an attempt is stored either way, and codes "sent" for an
  unknown account or an unconfirmed address are counted and stored but never delivered.
- Each proof is recorded once: a security code by e-mail (`email_code`) or text
  (`sms_code`), the password, the authenticator app (`totp`), a backup code, trusted
  contacts' codes (`trusted_contacts`) or an operator's approval (`support`).
- Without two-factor, one code (or the contacts) is enough to set a new password, at once.
- With two-factor, two independent proofs are needed, the first always something sent to
  the person (a code, or the contacts). When a second factor is among them (app, backup
  code, or a text to the two-factor phone) the new password applies at once and
  two-factor stays. Otherwise the recovery removes two-factor, and so does not take effect
  before a holding period (72 h) during which every address is told, with a cancel link,
  and every session of the owner can cancel it. An operator-approved recovery always waits.
- Every recovery is bound to the password it started under: any password change kills
  it and every code or link that belongs to it. Completing is one conditional UPDATE of
  the password, so two recoveries can never both complete.
- A recovery never logs anyone in; it ends every session of the account.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.errors import WrongPassword
from mamori.accounts.models import User
from mamori.accounts.service import (
    check_new_password,
    confirm_password,
    find_by_login,
    get_user,
    login_key,
)
from mamori.audit.service import Origin, record_event
from mamori.backup_codes import service as backup_codes
from mamori.codes import service as codes
from mamori.context import Context
from mamori.core.crypto import new_token, token_digest
from mamori.core.errors import (
    ChallengeExpired,
    CodeAlreadyUsed,
    InvalidCode,
    MamoriError,
    TooManyAttempts,
)
from mamori.core.i18n import translator
from mamori.core.throttle import Policy
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.service import alert_user, send_sms
from mamori.recovery.errors import (
    CancelLinkExpired,
    MoreProofNeeded,
    OptionNotAvailable,
    RecoveryExpired,
    RecoveryInProgress,
    RecoveryNotFound,
    SecurityCodeFirst,
)
from mamori.recovery.models import (
    CANCELLED,
    COMPLETED,
    HOLDING,
    OPEN,
    RecoveryAttempt,
    RecoveryProof,
)
from mamori.security import service as security
from mamori.sessions.service import PUBLIC_ID, end_other_sessions
from mamori.settings import Settings
from mamori.totp import service as totp
from mamori.totp.errors import ClockOutOfSync
from mamori.two_factor import service as two_factor

Option = Literal["email", "sms"]
CODE_PROOFS = {"email": "email_code", "sms": "sms_code"}
# What only the person can have received: the first proof is always one of these.
RECEIVED = frozenset({"email_code", "sms_code", "trusted_contacts", "support"})
SECOND_FACTORS = frozenset({"totp", "backup_code"})
MAX_TOKEN = 128


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


@dataclass(frozen=True)
class StartedRecovery:
    token: str
    status: RecoveryStatus


@dataclass(frozen=True)
class CompletedRecovery:
    status: RecoveryStatus
    # The "This wasn't me — cancel" link's secret, while the recovery holds.
    cancel_token: str | None


# --- throttles ---------------------------------------------------------------------------


def ip_policy(settings: Settings) -> Policy:
    return Policy(
        name="recovery-ip",
        window=timedelta(hours=1),
        free=settings.recovery_starts_per_ip_hour,
        max_delay=timedelta(hours=1),
    )


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


def account_policy(settings: Settings) -> Policy:
    return Policy(
        name="recovery-account",
        window=timedelta(hours=1),
        free=settings.recovery_starts_per_account_hour,
        max_delay=timedelta(hours=1),
    )


# --- starting ----------------------------------------------------------------------------


def start_recovery(
    db: Session, ctx: Context, origin: Origin, *, login: str, device: str | None = None
) -> StartedRecovery:
    """Open a recovery for whatever account `login` names, or for none, alike.

    Starts are limited per IP and per typed login (its canonical form, so notations
    share a counter, and unknown logins are limited exactly like known ones)."""
    settings = ctx.settings
    key = login_key(login, settings.default_phone_region) or "empty"
    user = find_by_login(db, login, settings.default_phone_region)
    if user is not None and user.disabled_at is not None:
        user = None
    login_digest = ctx.keyring.keyed_digest("throttle-recovery", key)[:32]
    # The owner's own browser (or, over the API, an IP they logged in from) has a counter
    # of its own: starts by others naming the username do not keep them out.
    lane = security.trusted_lane(db, ctx, user, origin, device)
    ip_subject = origin.ip or "unknown"
    ctx.throttle.reserve(db, ip_policy(settings), ip_subject)
    try:
        ctx.throttle.reserve(
            db, account_policy(settings), f"{login_digest}:{lane}" if lane else login_digest
        )
    except TooManyAttempts:
        ctx.throttle.give_back(db, ip_policy(settings), ip_subject)  # refused, not counted
        raise
    token = new_token()
    kind, _, typed = key.partition(":")
    attempt = _new_attempt(db, ctx, token, user, login_kind=kind)
    attempt.login_digest = login_digest
    if attempt.login_kind in ("email", "phone"):
        channel: codes.Channel = "email" if attempt.login_kind == "email" else "sms"
        attempt.typed_masked = codes.mask_destination(channel, typed)[:100]
        attempt.typed_sealed = ctx.keyring.seal(typed, _typed_context(attempt))
    record_event(
        db,
        ctx.clock,
        "recovery.started",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        login_kind=attempt.login_kind,
        matched=user is not None,
    )
    return StartedRecovery(token, _status(db, ctx, attempt))


def start_approved_recovery(
    db: Session, ctx: Context, origin: Origin, user: User, *, approved_by: str
) -> str:
    """A recovery already proven by an operator (a support case). Returns its token.

    It always takes the holding period, since the address it goes to may be new."""
    token = new_token()
    attempt = _new_attempt(db, ctx, token, user, login_kind="username", started_by="support")
    add_proof(db, ctx, origin, attempt, "support")
    record_event(
        db,
        ctx.clock,
        "recovery.approved",
        origin,
        user_id=user.id,
        recovery=attempt.public_id,
        approved_by=approved_by,
    )
    return token


def _new_attempt(
    db: Session,
    ctx: Context,
    token: str,
    user: User | None,
    *,
    login_kind: str,
    started_by: str = "person",
) -> RecoveryAttempt:
    now = ctx.clock.now()
    attempt = RecoveryAttempt(
        public_id=secrets.token_urlsafe(12),
        token_digest=token_digest(token),
        user_id=user.id if user else None,
        login_kind=login_kind if login_kind in ("username", "email", "phone") else "username",
        password_stamp=password_stamp(user) if user else None,
        state=OPEN,
        created_at=now,
        expires_at=now + timedelta(hours=ctx.settings.recovery_attempt_hours),
        removes_second_factor=False,
        started_by=started_by,
    )
    db.add(attempt)
    db.flush()
    return attempt


def password_stamp(user: User) -> str:
    """Changes with every password change (argon2id hashes are salted afresh each time)."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()


# --- finding an attempt ------------------------------------------------------------------


def open_attempt(db: Session, ctx: Context, token: str) -> RecoveryAttempt:
    """The open recovery this token names; anything else is RecoveryExpired (410)."""
    attempt = _attempt_for(db, token)
    if attempt is None or attempt.state != OPEN or attempt.expires_at <= ctx.clock.now():
        raise RecoveryExpired()
    _check_stamp(db, attempt)
    return attempt


def _attempt_for(db: Session, token: str) -> RecoveryAttempt | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    return db.scalar(
        select(RecoveryAttempt).where(RecoveryAttempt.token_digest == token_digest(token))
    )


def _check_stamp(db: Session, attempt: RecoveryAttempt) -> None:
    # The lookup runs for an unknown account too, so both take the same time.
    user = get_user(db, attempt.user_id or 0)
    if attempt.user_id is None:
        return
    if (
        user is None
        or user.disabled_at is not None
        or password_stamp(user) != attempt.password_stamp
    ):
        raise RecoveryExpired()


def attempt_user(db: Session, attempt: RecoveryAttempt) -> User | None:
    return get_user(db, attempt.user_id) if attempt.user_id is not None else None


def recovery_status(db: Session, ctx: Context, token: str) -> RecoveryStatus:
    """Where a recovery stands. A holding or finished one still answers (its page)."""
    attempt = _attempt_for(db, token)
    if attempt is None:
        raise RecoveryExpired()
    if attempt.state == HOLDING:
        apply_due_recoveries(db, ctx, Origin(), user_id=attempt.user_id)
        db.refresh(attempt)
    if attempt.state in (HOLDING, COMPLETED):
        return _status(db, ctx, attempt)
    return _status(db, ctx, open_attempt(db, ctx, token))


# --- proofs ------------------------------------------------------------------------------


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
            "Someone is recovering your account",
            "Someone passed the first step of recovering your account %(username)s "
            "(Can't log in?). If it was you, carry on. If it wasn't, change your password "
            "now: your account stays as it is unless the recovery is completed.",
            username=user.username,
        )


def proofs_of(db: Session, attempt: RecoveryAttempt) -> list[str]:
    return list(
        db.scalars(
            select(RecoveryProof.kind)
            .where(RecoveryProof.attempt_id == attempt.id)
            .order_by(RecoveryProof.id)
        )
    )


def send_recovery_code(
    db: Session, ctx: Context, origin: Origin, token: str, option: str
) -> codes.SentCode:
    """Send a code to one of the offered destinations (never to an unconfirmed one)."""
    attempt = open_attempt(db, ctx, token)
    offered = {d.option: d for d in recovery_options(db, ctx, attempt)}
    if option not in offered:
        raise OptionNotAvailable()
    channel: codes.Channel = "sms" if option == "sms" else "email"
    user = attempt_user(db, attempt)
    real = _confirmed_destination(db, user, channel) if user else None
    sent = codes.send_security_code(
        db,
        ctx,
        origin,
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
    return _status(db, ctx, attempt)


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
    return _status(db, ctx, attempt)


def prove_with_second_factor(
    db: Session, ctx: Context, origin: Origin, token: str, method: str, code: str
) -> RecoveryStatus:
    """The app or a backup code: two-factor then stays on. Counted like the login step."""
    attempt = open_attempt(db, ctx, token)
    _require_received_proof(db, attempt)
    user = attempt_user(db, attempt)
    assert user is not None
    if method not in SECOND_FACTORS or method not in two_factor.login_methods(db, ctx, user):
        raise OptionNotAvailable()
    lane = security.trusted_lane(db, ctx, user, origin, None)
    two_factor.check_second_factor_allowed(db, ctx, user.id, lane)
    try:
        if method == "totp":
            totp.verify_totp(db, ctx, user.id, code)
        else:
            backup_codes.use_backup_code(db, ctx, origin, user, code)
    except (InvalidCode, CodeAlreadyUsed, ClockOutOfSync) as error:
        failures = two_factor.record_second_factor_failure(db, ctx, user.id, lane)
        record_event(
            db,
            ctx.clock,
            "recovery.proof_failed",
            origin,
            user_id=user.id,
            outcome="failure",
            recovery=attempt.public_id,
            proof=method,
            reason=error.code,
            consecutive_failures=failures,
        )
        raise
    if lane is not None:
        two_factor.clear_second_factor_failures(db, ctx, user.id, lane)
    add_proof(db, ctx, origin, attempt, method)
    return _status(db, ctx, attempt)


def _require_received_proof(db: Session, attempt: RecoveryAttempt) -> None:
    if attempt.user_id is None or not RECEIVED & set(proofs_of(db, attempt)):
        raise SecurityCodeFirst()


# --- completing --------------------------------------------------------------------------


def complete_recovery(
    db: Session, ctx: Context, origin: Origin, token: str, new_password: str
) -> CompletedRecovery:
    """Set the new password: at once, or after the holding period when two-factor goes.

    MoreProofNeeded (409) until the proofs suffice; RecoveryInProgress (409) when another
    recovery of the account already holds; RecoveryExpired (410) when another recovery or
    a password change came first."""
    attempt = open_attempt(db, ctx, token)
    user = attempt_user(db, attempt)
    proofs = proofs_of(db, attempt)
    if user is None or not _proofs_suffice(db, ctx, user, attempt, proofs):
        raise MoreProofNeeded()
    removes = _removes_second_factor(db, ctx, user, attempt, proofs)
    # Where the new password will be the only factor, it must be long (NIST SP 800-63B-4).
    single_factor = removes or not two_factor.is_two_factor_on(db, user.id)
    check_new_password(
        ctx.settings,
        new_password,
        user.username,
        user.email.split("@")[0] if user.email else None,
        min_length=ctx.settings.password_min_length_single_factor
        if single_factor
        else ctx.settings.password_min_length,
    )
    new_hash = ctx.hasher.hash(new_password)
    if removes or attempt.started_by == "support":
        cancel_token = _hold(db, ctx, origin, attempt, user, new_hash, proofs)
        return CompletedRecovery(_status(db, ctx, attempt), cancel_token)
    # Claim it first: an owner's cancel that came in meanwhile wins.
    claimed = cast(
        CursorResult[Any],
        db.execute(
            update(RecoveryAttempt)
            .where(RecoveryAttempt.id == attempt.id, RecoveryAttempt.state == OPEN)
            .values(state=COMPLETED)
            .execution_options(synchronize_session=False)
        ),
    )
    if claimed.rowcount != 1 or not _swap_password(db, ctx, user, attempt, new_hash):
        raise RecoveryExpired()
    _finish(db, ctx, origin, attempt, user, removed_second_factor=False)
    return CompletedRecovery(_status(db, ctx, attempt), None)


def _proofs_suffice(
    db: Session, ctx: Context, user: User, attempt: RecoveryAttempt, proofs: list[str]
) -> bool:
    if "support" in proofs:
        return True
    if not RECEIVED & set(proofs):
        return False
    if not two_factor.is_two_factor_on(db, user.id):
        return True
    return len(set(proofs)) >= 2


def _removes_second_factor(
    db: Session, ctx: Context, user: User, attempt: RecoveryAttempt, proofs: list[str]
) -> bool:
    """True unless a current second factor is among the proofs."""
    if not two_factor.is_two_factor_on(db, user.id):
        return False
    if SECOND_FACTORS & set(proofs):
        return False
    two_factor_phone = two_factor.confirmed_phone(db, user.id)
    texted = _confirmed_destination(db, user, "sms")
    proved_phone = (
        "sms_code" in proofs and two_factor_phone is not None and texted == two_factor_phone.phone
    )
    return not proved_phone


def _hold(
    db: Session,
    ctx: Context,
    origin: Origin,
    attempt: RecoveryAttempt,
    user: User,
    new_hash: str,
    proofs: list[str],
) -> str:
    now = ctx.clock.now()
    cancel_token = new_token()
    end_stale_holds(db, ctx, origin, user)
    try:
        with db.begin_nested():
            attempt.state = HOLDING
            attempt.holding_user_id = user.id
            attempt.new_password_hash = new_hash
            attempt.removes_second_factor = two_factor.is_two_factor_on(db, user.id)
            attempt.takes_effect_at = now + timedelta(hours=ctx.settings.recovery_holding_hours)
            attempt.cancel_token_digest = token_digest(cancel_token)
            db.flush()
    except IntegrityError as exc:
        db.refresh(attempt)
        raise RecoveryInProgress() from exc
    record_event(
        db,
        ctx.clock,
        "recovery.holding",
        origin,
        user_id=user.id,
        recovery=attempt.public_id,
        proofs=proofs,
        takes_effect_at=attempt.takes_effect_at.isoformat(),
        removes_second_factor=attempt.removes_second_factor,
    )
    link = f"{ctx.settings.base_url.rstrip('/')}/recovery/cancel/{cancel_token}"
    when = f"{attempt.takes_effect_at:%Y-%m-%d %H:%M}"
    # Literal messages in each branch, so the catalog check sees both.
    if attempt.removes_second_factor:
        alert_everywhere(
            db,
            ctx,
            origin,
            user,
            "Your account is being recovered",
            "Someone finished the steps to recover your account %(username)s. On %(when)s UTC "
            "it will set a new password, turn off two-factor authentication and log out "
            "every device. If this wasn't you, cancel it now: %(cancel)s — or log in and "
            "cancel it under Password and security.",
            username=user.username,
            when=when,
            cancel=link,
            secret=link,
        )
    else:
        alert_everywhere(
            db,
            ctx,
            origin,
            user,
            "Your account is being recovered",
            "Someone finished the steps to recover your account %(username)s. On %(when)s UTC "
            "it will set a new password and log out every device. If this wasn't you, "
            "cancel it now: %(cancel)s — or log in and cancel it under Password and security.",
            username=user.username,
            when=when,
            cancel=link,
            secret=link,
        )
    if ctx.settings.recovery_holding_hours == 0:
        apply_due_recoveries(db, ctx, origin, user_id=user.id)
    return cancel_token


def _swap_password(
    db: Session, ctx: Context, user: User, attempt: RecoveryAttempt, new_hash: str
) -> bool:
    """One conditional UPDATE: only if the password is still the one the attempt began
    under. Of two recoveries racing, exactly one changes it."""
    db.refresh(user)
    if password_stamp(user) != attempt.password_stamp:
        return False
    result = cast(
        CursorResult[Any],
        db.execute(
            update(User)
            .where(User.id == user.id, User.password_hash == user.password_hash)
            .values(password_hash=new_hash, password_changed_at=ctx.clock.now())
            .execution_options(synchronize_session=False)
        ),
    )
    db.refresh(user)
    return result.rowcount == 1


def _finish(
    db: Session,
    ctx: Context,
    origin: Origin,
    attempt: RecoveryAttempt,
    user: User,
    *,
    removed_second_factor: bool,
) -> None:
    attempt.state = COMPLETED
    attempt.holding_user_id = None
    attempt.new_password_hash = None
    attempt.finished_at = ctx.clock.now()
    end_other_sessions(db, ctx.clock, origin, user.id, keep=None)
    two_factor.clear_second_factor_failures(db, ctx, user.id)
    record_event(
        db,
        ctx.clock,
        "recovery.completed",
        origin,
        user_id=user.id,
        recovery=attempt.public_id,
        removed_second_factor=removed_second_factor,
    )
    review = f"{ctx.settings.base_url.rstrip('/')}/accounts/center/security-review"
    # Literal messages in each branch, so the catalog check sees both.
    if removed_second_factor:
        alert_everywhere(
            db,
            ctx,
            origin,
            user,
            "Your account was recovered",
            "Your account %(username)s was recovered: it has a new password, two-factor "
            "authentication is off and every device was logged out. Log in and review "
            "your security: %(review)s",
            username=user.username,
            review=review,
        )
        return
    alert_everywhere(
        db,
        ctx,
        origin,
        user,
        "Your account was recovered",
        "The password of your account %(username)s was reset through account "
        "recovery and every device was logged out. Log in and review your "
        "security: %(review)s",
        username=user.username,
        review=review,
    )


def apply_due_recoveries(
    db: Session, ctx: Context, origin: Origin, *, user_id: int | None = None
) -> int:
    """Let every holding recovery whose time has come take effect. Returns how many did.

    Runs before a password login (so the new password works the moment it is due), on
    the recovery's own page, and from `mamori recovery apply-due`."""
    query = select(RecoveryAttempt).where(
        RecoveryAttempt.state == HOLDING, RecoveryAttempt.takes_effect_at <= ctx.clock.now()
    )
    if user_id is not None:
        query = query.where(RecoveryAttempt.user_id == user_id)
    applied = 0
    for attempt in list(db.scalars(query)):
        if _take_effect(db, ctx, origin, attempt):
            applied += 1
    return applied


def _take_effect(db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt) -> bool:
    # Claim it first: of two requests applying at once, one does the work.
    claimed = cast(
        CursorResult[Any],
        db.execute(
            update(RecoveryAttempt)
            .where(RecoveryAttempt.id == attempt.id, RecoveryAttempt.state == HOLDING)
            .values(state=COMPLETED)
            .execution_options(synchronize_session=False)
        ),
    )
    db.refresh(attempt)
    user = attempt_user(db, attempt)
    if claimed.rowcount != 1 or user is None:
        return False
    assert attempt.new_password_hash is not None
    if not _swap_password(db, ctx, user, attempt, attempt.new_password_hash):
        # The owner changed the password meanwhile: the recovery dies.
        _end(db, ctx, origin, attempt, CANCELLED, reason="password_changed")
        return False
    if attempt.removes_second_factor:
        two_factor.remove_every_factor(db, ctx, origin, user, reason="recovery")
    _finish(db, ctx, origin, attempt, user, removed_second_factor=attempt.removes_second_factor)
    return True


# --- cancelling --------------------------------------------------------------------------


def cancel_by_link(db: Session, ctx: Context, origin: Origin, cancel_token: str) -> None:
    """ "This wasn't me — cancel": the link in every alert about a holding recovery."""
    attempt = None
    if cancel_token and len(cancel_token) <= MAX_TOKEN:
        attempt = db.scalar(
            select(RecoveryAttempt).where(
                RecoveryAttempt.cancel_token_digest == token_digest(cancel_token)
            )
        )
    if attempt is None or not _cancel(db, ctx, origin, attempt, by="link"):
        raise CancelLinkExpired()


def cancel_by_owner(
    db: Session, ctx: Context, origin: Origin, user_id: int, public_id: str
) -> None:
    """The owner, from any logged-in session. Someone else's recovery is simply not found."""
    attempt = None
    if PUBLIC_ID.fullmatch(public_id):
        attempt = db.scalar(
            select(RecoveryAttempt).where(
                RecoveryAttempt.public_id == public_id, RecoveryAttempt.user_id == user_id
            )
        )
    if attempt is None or not _cancel(db, ctx, origin, attempt, by="owner"):
        raise RecoveryNotFound()


def end_stale_holds(db: Session, ctx: Context, origin: Origin, user: User) -> None:
    """A holding recovery dies when the password changes (the owner acted on the alert);
    it is ended here rather than when it would have come due, so it neither shows nor
    blocks a new recovery meanwhile."""
    holding = db.scalars(
        select(RecoveryAttempt).where(
            RecoveryAttempt.user_id == user.id, RecoveryAttempt.state == HOLDING
        )
    )
    for attempt in list(holding):
        if attempt.password_stamp != password_stamp(user):
            _end(db, ctx, origin, attempt, CANCELLED, reason="password_changed")


def pending_recoveries(db: Session, ctx: Context, user_id: int) -> list[RecoveryAttempt]:
    """What the owner is shown in every session: recoveries past their first proof that
    are still open, and those holding."""
    user = get_user(db, user_id)
    if user is not None:
        end_stale_holds(db, ctx, Origin(), user)
    now = ctx.clock.now()
    attempts = db.scalars(
        select(RecoveryAttempt)
        .where(
            RecoveryAttempt.user_id == user_id,
            RecoveryAttempt.state.in_((OPEN, HOLDING)),
        )
        .order_by(RecoveryAttempt.id.desc())
    )
    return [a for a in attempts if a.state == HOLDING or (a.expires_at > now and proofs_of(db, a))]


def _cancel(
    db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt, *, by: str
) -> bool:
    if not _end(db, ctx, origin, attempt, CANCELLED, reason=f"cancelled_by_{by}"):
        return False
    user = attempt_user(db, attempt)
    if user is not None:
        alert_everywhere(
            db,
            ctx,
            origin,
            user,
            "A recovery of your account was cancelled",
            "A recovery of your account %(username)s was cancelled. Your password and "
            "two-factor settings stay as they were. If you didn't start it, someone may "
            "know your password or read your e-mail: review your security.",
            username=user.username,
        )
    return True


def _end(
    db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt, state: str, reason: str
) -> bool:
    result = cast(
        CursorResult[Any],
        db.execute(
            update(RecoveryAttempt)
            .where(
                RecoveryAttempt.id == attempt.id,
                RecoveryAttempt.state.in_((OPEN, HOLDING, COMPLETED))
                if reason == "password_changed"
                else RecoveryAttempt.state.in_((OPEN, HOLDING)),
            )
            .values(
                state=state,
                holding_user_id=None,
                new_password_hash=None,
                finished_at=ctx.clock.now(),
            )
            .execution_options(synchronize_session=False)
        ),
    )
    db.refresh(attempt)
    if result.rowcount != 1:
        return False
    record_event(
        db,
        ctx.clock,
        "recovery.cancelled",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        reason=reason,
    )
    return True


# --- what the person sees ----------------------------------------------------------------


def recovery_options(db: Session, ctx: Context, attempt: RecoveryAttempt) -> list[Destination]:
    """Where a code may go. Named by e-mail or phone: only that address, masked, known or
    not. Named by username (a public handle): the account's confirmed addresses. After
    the first proof, every confirmed address of the account."""
    user = attempt_user(db, attempt)
    proven = user is not None and bool(RECEIVED & set(proofs_of(db, attempt)))
    if attempt.login_kind == "username" or proven:
        found = []
        email = _confirmed_destination(db, user, "email")
        if email:
            found.append(Destination("email", codes.mask_destination("email", email)))
        phone = _confirmed_destination(db, user, "sms")
        if phone:
            found.append(Destination("sms", codes.mask_destination("sms", phone)))
        return found
    option: Option = "email" if attempt.login_kind == "email" else "sms"
    return [Destination(option, attempt.typed_masked or codes.MASK)]


def _status(db: Session, ctx: Context, attempt: RecoveryAttempt) -> RecoveryStatus:
    proofs = proofs_of(db, attempt)
    user = attempt_user(db, attempt)
    proven = user is not None and bool(RECEIVED & set(proofs))
    options = recovery_options(db, ctx, attempt)
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
    ready = _proofs_suffice(db, ctx, user, attempt, proofs)
    next_proofs: list[str] = []
    if not ready:
        methods = two_factor.login_methods(db, ctx, user)
        next_proofs = ["password", *[m for m in ("totp", "backup_code") if m in methods]]
        next_proofs += [CODE_PROOFS[d.option] for d in options]
        next_proofs.append("trusted_contacts")
        next_proofs = [p for p in next_proofs if p not in proofs]
    removes = (
        attempt.removes_second_factor
        if attempt.state != OPEN
        else ready and _removes_second_factor(db, ctx, user, attempt, proofs)
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


def _confirmed_destination(db: Session, user: User | None, channel: str) -> str | None:
    """A code only ever goes to an address the owner confirmed before."""
    if user is None:
        return None
    if channel == "email":
        return user.email if user.email and user.email_confirmed_at else None
    if user.phone and user.phone_confirmed_at:
        return user.phone
    phone = two_factor.confirmed_phone(db, user.id)
    return phone.phone if phone else None


def _code_binding(attempt: RecoveryAttempt, channel: str) -> str:
    # One code per recovery and channel: an e-mailed and a texted code are two proofs.
    return f"recovery:{attempt.id}:{channel}"


def _stand_in(ctx: Context, attempt: RecoveryAttempt, channel: str) -> str:
    """Where a code is "sent" when nothing may be: the address as typed (for its quota)."""
    if attempt.typed_sealed:
        return ctx.keyring.unseal(attempt.typed_sealed, _typed_context(attempt))
    return "nobody@invalid.example" if channel == "email" else "+10000000000"


def _typed_context(attempt: RecoveryAttempt) -> str:
    return f"recovery-typed:{attempt.public_id}"


def alert_everywhere(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    subject: str,
    body: str,
    **values: object,
) -> None:
    """NIST SP 800-63B-4 §4.2: every recovery step reaches every address on file — the
    e-mail (confirmed or not: it carries no secret) and every confirmed phone."""
    alert_user(db, ctx, user, subject, body, **values)
    secret = values.pop("secret", None)
    _ = translator(user.locale)
    text = _(subject, **values) + "\n" + _(body, **values)
    for phone in _confirmed_phones(db, user):
        try:
            send_sms(
                db,
                ctx,
                to=phone,
                body=text[:600],
                user_id=user.id,
                kind="alert",
                origin=origin,
                secret=str(secret) if secret else None,
                in_background=True,
            )
        except (DeliveryFailed, MamoriError):
            # Marked failed, logged and audited; the recovery step it reports stands.
            continue


def _confirmed_phones(db: Session, user: User) -> list[str]:
    phones = [user.phone] if user.phone and user.phone_confirmed_at else []
    two_factor_phone = two_factor.confirmed_phone(db, user.id)
    if two_factor_phone is not None and two_factor_phone.phone not in phones:
        phones.append(two_factor_phone.phone)
    return phones
