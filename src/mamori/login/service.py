"""Login: the password step, throttled per IP and per account, with no account enumeration."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from mamori.accounts.credentials import credential_stamp, hold_credentials
from mamori.accounts.models import User
from mamori.accounts.service import find_by_login, get_user, login_key
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import Keyring, new_token, token_digest
from mamori.core.db import reading
from mamori.core.errors import ChallengeExpired, CodeAlreadyUsed, MamoriError, TooManyAttempts
from mamori.core.throttle import Policy
from mamori.login.errors import InvalidCredentials
from mamori.login.models import LoginChallenge
from mamori.notifications.service import alert_user
from mamori.passkeys import service as passkeys
from mamori.recovery import service as recovery
from mamori.second_factors.methods import AMR_VALUES, METHOD_NAMES, Attempt, Method
from mamori.security import service as security
from mamori.security.ratings import rate_password_at_login
from mamori.sessions.reauthentication import session_and_user
from mamori.sessions.service import NewSession, mark_reauthenticated, start_session
from mamori.settings import Settings
from mamori.two_factor import service as two_factor
from mamori.two_factor import verify as second_factor
from mamori.two_factor.errors import MethodNotAvailable
from mamori.two_factor.verify import Proof, Step


def ip_policy(settings: Settings) -> Policy:
    return Policy(
        name="login-ip",
        window=timedelta(minutes=settings.login_ip_window_minutes),
        free=settings.login_ip_failures,
        max_delay=timedelta(minutes=settings.login_ip_window_minutes),
    )


def account_policy(settings: Settings) -> Policy:
    return Policy(
        name="login-account",
        window=timedelta(hours=1),
        free=settings.login_account_free_failures,
        max_delay=timedelta(seconds=settings.login_account_max_delay_seconds),
    )


@dataclass(frozen=True)
class LoginResult:
    """Either a session (no second factor needed) or a challenge with the methods to offer."""

    user: User
    session: NewSession | None = None
    challenge: str | None = None
    methods: list[Method] = field(default_factory=list)


@dataclass(frozen=True)
class SecondFactorResult:
    user: User
    session: NewSession
    method: Method
    # After the last backup code, the user is taken to get new codes.
    backup_codes_left: int | None = None


def account_subject(keyring: Keyring, login: str, default_region: str) -> str:
    """The throttle key of what was typed, in its canonical form, for known and unknown
    accounts alike: "090-1234-5678" and "+81 90 1234 5678" share one counter, and no
    wait ever depends on whether an account exists or which identifiers it owns.

    The price: an attacker who knows the username, e-mail and phone of one account gets
    three counters, each with the growing delay, all under the per-IP limit.
    """
    typed = login_key(login, default_region) or "empty"
    return "login:" + keyring.keyed_digest("throttle-login", typed)[:32]


def check_password(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    login: str,
    password: str,
    device: str | None = None,
) -> User:
    """The user whose password this is, or InvalidCredentials — the same for every failure.

    Failures from a trusted browser or client (`security.trusted_lane`) have a counter of
    their own: however hard others hammer the login, the owner's device is not held."""
    settings, clock, hasher, throttle = ctx.settings, ctx.clock, ctx.hasher, ctx.throttle
    ip_subject = origin.ip or "unknown"
    subject = account_subject(ctx.keyring, login, settings.default_phone_region)
    with reading(db):  # SQLite: the lookups take no write lock
        user = find_by_login(db, login, settings.default_phone_region)
        lane = security.trusted_lane(db, ctx, user, origin, device)
        # The lookup runs for an unknown account too (user id 0 matches nothing):
        # skipping it made a known login measurably slower than an unknown one.
        recovery_due = recovery.has_due_recovery(db, ctx, user.id if user else 0)
    if lane is not None:
        subject = f"{subject}:{lane}"
    # Every attempt is counted as a failure before the hash, and given back on success:
    # of a burst sent at once, exactly the free tries are evaluated.
    throttle.reserve(db, ip_policy(settings), ip_subject)
    try:
        failures = throttle.reserve(db, account_policy(settings), subject)
    except TooManyAttempts:
        throttle.give_back(db, ip_policy(settings), ip_subject)  # refused, not evaluated
        raise
    if recovery_due and recovery.apply_due_recoveries(
        db, ctx, origin, user_id=user.id if user else 0
    ):
        assert user is not None
        db.refresh(user)  # a recovery that came due just set the password
    stored_hash = user.password_hash if user else None
    db.commit()  # the reservations stand before the slow work, and hold no lock through it
    # Always run the hash, so an unknown account costs the same time as a known one.
    correct = hasher.verify(stored_hash, password)
    if correct and user is not None:
        # The hash ran outside the transaction: a password changed meanwhile wins. With
        # counters in the database the read opens the transaction that settles them.
        with nullcontext() if throttle.in_database else reading(db):
            correct = _credentials_again(db, user) and user.password_hash == stored_hash
    if not correct or user is None or user.disabled_at is not None:
        reason = "unknown_account" if user is None else "disabled" if correct else "bad_password"
        record_event(
            db,
            clock,
            "login.password_failed",
            origin,
            outcome="failure",
            user_id=user.id if user else None,
            reason=reason,
        )
        if user is not None and lane is None and failures == settings.login_account_free_failures:
            _tell_owner_logins_are_held(db, ctx, origin, user, failures)
        raise InvalidCredentials()
    # Only this account's counter is cleared; the per-IP one gets back only this attempt.
    # In the order they were reserved, and committed at once: the IP's row is shared by
    # everyone behind it, so no login holds it through the rest of its work.
    throttle.give_back(db, ip_policy(settings), ip_subject)
    throttle.clear(db, account_policy(settings), subject)
    db.commit()
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = hasher.hash(password)
    return user


def _credentials_again(db: Session, user: User) -> bool:
    """The user's credentials and disabled mark as they are now, read into `user` (three
    columns: a full refresh of the row cost a login a tenth of its Python time). False
    when the account is gone."""
    row = db.execute(
        select(User.password_hash, User.credential_generation, User.disabled_at).where(
            User.id == user.id
        )
    ).one_or_none()
    if row is None:
        return False
    set_committed_value(user, "password_hash", row.password_hash)
    set_committed_value(user, "credential_generation", row.credential_generation)
    set_committed_value(user, "disabled_at", row.disabled_at)
    return True


def _tell_owner_logins_are_held(
    db: Session, ctx: Context, origin: Origin, user: User, failures: int
) -> None:
    """Once per window, when the untrusted counter first makes logins wait (the count goes
    up atomically, so exactly one failing request sees this number)."""
    record_event(db, ctx.clock, "login.throttled", origin, user_id=user.id, failures=failures)
    alert_user(
        db,
        ctx,
        user,
        "Someone is trying to log in to your account",
        "There were %(count)d wrong passwords for your account %(username)s within an hour, "
        "so logging in from new devices now waits a little after each one. Your own "
        "devices are not held. If this wasn't you, make sure your password is not used "
        "anywhere else, and use two-factor authentication.",
        username=user.username,
        count=failures,
    )


def log_in(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    login: str,
    password: str,
    kind: str,
    device: str | None = None,
) -> LoginResult:
    """`device`: the browser's device cookie (None for API clients), for new-device alerts."""
    user = check_password(db, ctx, origin, login=login, password=password, device=device)
    # Read once and kept referenced, so the rating and the new session's hold find it in
    # the identity map (which holds rows only weakly) instead of reading it again.
    state = security.security_state(db, user.id)
    rate_password_at_login(db, ctx, user, password)
    methods = two_factor.second_step_methods(db, ctx, user)
    if methods:
        token = start_challenge(db, ctx, user, kind)
        record_event(
            db,
            ctx.clock,
            "login.password_accepted",
            origin,
            user_id=user.id,
            factor="password",
            next="second_factor",
        )
        return LoginResult(user=user, challenge=token, methods=methods)
    digest = security.device_digest(ctx, user.id, device, origin)
    session = start_session(
        db, ctx.clock, ctx.settings, origin, user.id, kind, device_digest=digest
    )
    record_event(
        db,
        ctx.clock,
        "login.succeeded",
        origin,
        user_id=user.id,
        factor="password",
        session=session.session.public_id,
    )
    security.secure_new_session(db, ctx, origin, user, session.session, device)
    del state
    return LoginResult(user=user, session=session)


def start_challenge(db: Session, ctx: Context, user: User, kind: str) -> str:
    """The second step of a login, bound to the credentials the password was checked
    against: it ends with any password change or "end every other session"."""
    token = new_token()
    now = ctx.clock.now()
    db.add(
        LoginChallenge(
            token_digest=token_digest(token),
            user_id=user.id,
            kind=kind,
            created_at=now,
            expires_at=now + timedelta(minutes=ctx.settings.login_challenge_minutes),
            credential_stamp=credential_stamp(user),
        )
    )
    db.flush()
    return token


def open_challenge(db: Session, ctx: Context, token: str) -> LoginChallenge:
    """The live challenge this token names; anything else is expired (410)."""
    if not token or len(token) > 128:
        raise ChallengeExpired()
    challenge = db.scalar(
        select(LoginChallenge).where(LoginChallenge.token_digest == token_digest(token))
    )
    if (
        challenge is None
        or challenge.completed_at is not None
        or challenge.expires_at <= ctx.clock.now()
    ):
        raise ChallengeExpired()
    return challenge


def challenge_user(db: Session, ctx: Context, token: str) -> tuple[LoginChallenge, User]:
    """The live challenge and its user; ChallengeExpired also when the account was
    disabled, or its password changed or its sessions ended since the password step."""
    challenge = open_challenge(db, ctx, token)
    user = get_user(db, challenge.user_id)
    if (
        user is None
        or user.disabled_at is not None
        or challenge.credential_stamp != credential_stamp(user)
    ):
        raise ChallengeExpired()
    return challenge, user


LOGIN = Step(
    accepts=frozenset(Method),
    failed_event="login.second_factor_failed",
    method_detail="method",
)
CONFIRM_ITS_YOU = Step(
    accepts=frozenset({Method.TOTP, Method.BACKUP_CODE, Method.PASSKEY}),
    failed_event="reauthentication.failed",
    method_detail="factor",
)


def _login_attempt(
    db: Session, ctx: Context, origin: Origin, token: str, device: str | None
) -> tuple[LoginChallenge, Attempt]:
    """The live challenge, and a second factor proven for it: sent codes belong to it."""
    challenge, user = challenge_user(db, ctx, token)
    lane = security.trusted_lane(db, ctx, user, origin, device)
    binding = f"login:{challenge.id}"
    return challenge, Attempt(user, origin, lane=lane, purpose="login", binding=binding)


def send_login_code(
    db: Session, ctx: Context, origin: Origin, token: str, method: str, device: str | None = None
) -> str:
    """Text (or e-mail) a security code for this login; returns the masked destination."""
    _, attempt = _login_attempt(db, ctx, origin, token, device)
    return second_factor.send_second_factor_code(db, ctx, attempt, method)


def verify_second_factor(
    db: Session,
    ctx: Context,
    origin: Origin,
    token: str,
    method: str,
    code: str,
    device: str | None = None,
) -> SecondFactorResult:
    """Check the code against the one method the user chose — never every factor."""
    challenge, attempt = _login_attempt(db, ctx, origin, token, device)
    user, proof = attempt.user, Proof(attempt, method, code)
    try:
        proven = second_factor.verify_second_factor(db, ctx, LOGIN, proof)
    except second_factor.WRONG_ANSWERS as error:
        _someone_has_the_password(db, ctx, challenge, proof, error)
        raise
    _complete_challenge(db, ctx, challenge, user)
    amr = f"pwd {AMR_VALUES[proven.method]} mfa"
    digest = security.device_digest(ctx, user.id, device, origin)
    session = start_session(
        db, ctx.clock, ctx.settings, origin, user.id, challenge.kind, amr, device_digest=digest
    )
    record_event(
        db,
        ctx.clock,
        "login.succeeded",
        origin,
        user_id=user.id,
        factor=f"password+{proven.method}",
        session=session.session.public_id,
    )
    security.secure_new_session(db, ctx, origin, user, session.session, device)
    return SecondFactorResult(user, session, proven.method, proven.backup_codes_left)


def _complete_challenge(db: Session, ctx: Context, challenge: LoginChallenge, user: User) -> None:
    """Once: of two right answers at the same moment, one login goes on."""
    completed = db.execute(
        update(LoginChallenge)
        .where(LoginChallenge.id == challenge.id, LoginChallenge.completed_at.is_(None))
        .values(completed_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if completed != 1 or not hold_credentials(db, user):
        raise ChallengeExpired()


def _someone_has_the_password(
    db: Session, ctx: Context, challenge: LoginChallenge, proof: Proof, error: MamoriError
) -> None:
    """The right password with a wrong second factor: the owner should know (ASVS 2.5.5),
    once per login attempt rather than once per typo; a replayed code always."""
    challenge.failures += 1
    method = Method(proof.method)  # offered, or no code was checked
    replayed = isinstance(error, CodeAlreadyUsed) and method == Method.TOTP
    if challenge.failures == 1 or replayed:
        alert_user(
            db,
            ctx,
            proof.attempt.user,
            "Someone entered your password",
            "Someone entered the right password for your account but not the "
            "two-factor code (%(method)s). If it wasn't you, change your password.",
            method=METHOD_NAMES[method],
        )


def second_step_passkey_options(db: Session, ctx: Context, token: str) -> str:
    """Options for a passkey at this login's second step, bound to it."""
    challenge, user = challenge_user(db, ctx, token)
    if not passkeys.has_passkeys(db, user.id):
        raise MethodNotAvailable()
    return passkeys.second_factor_options(db, ctx, user, f"login:{challenge.id}")


def challenge_methods(db: Session, ctx: Context, token: str) -> list[str]:
    """What the challenge page offers (a Method is its string); ChallengeExpired when
    the login must start over."""
    _, user = challenge_user(db, ctx, token)
    return list[str](two_factor.login_methods(db, ctx, user))


def _confirming(session_id: int) -> str:
    return f"reauthenticate:{session_id}"


def reauthentication_passkey_options(db: Session, ctx: Context, session_id: int) -> str:
    """Options for "Confirm it's you" with a passkey, bound to this session."""
    _, user = session_and_user(db, session_id)
    if not passkeys.has_passkeys(db, user.id):
        raise MethodNotAvailable()
    return passkeys.second_factor_options(db, ctx, user, _confirming(session_id))


def reauthenticate_with_second_factor(
    db: Session, ctx: Context, origin: Origin, session_id: int, method: str, code: str
) -> None:
    """ "Confirm it's you" with the app, a backup code or a passkey instead of the password.

    The same failure counter as the login challenge guards it, so a stolen session
    cannot guess codes faster than an attacker at the login page.
    """
    session, user = session_and_user(db, session_id)
    lane = security.trusted_lane(db, ctx, user, origin, None)
    attempt = Attempt(
        user, origin, lane=lane, purpose="reauthenticate", binding=_confirming(session_id)
    )
    proof = Proof(attempt, method, code)
    proven = second_factor.verify_second_factor(db, ctx, CONFIRM_ITS_YOU, proof)
    mark_reauthenticated(ctx.clock, session)
    record_event(
        db, ctx.clock, "reauthentication.succeeded", origin, user_id=user.id, factor=proven.method
    )
