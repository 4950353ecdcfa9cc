"""Logging in with a passkey alone: with user verification it is two factors in one, so
no password and no code follow, even with two-factor on. It shares the password login's
per-IP limit and the account's failure counter."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import token_digest
from mamori.core.errors import MamoriError, TooManyAttempts
from mamori.core.throttle import Policy
from mamori.login.service import SecondFactorResult, account_policy, account_subject, ip_policy
from mamori.passkeys import service as passkeys
from mamori.passkeys.challenges import Purpose
from mamori.recovery import service as recovery
from mamori.second_factors.methods import Method
from mamori.security import service as security
from mamori.sessions.service import start_session
from mamori.settings import Settings

# API clients have no cookie to bind a login's challenge to: the challenge alone (256
# random bits, 5 minutes, once) is the binding.
API_BINDING = "api"


def browser_binding(browser_secret: str) -> str:
    """A page's login challenge belongs to the browser that asked (its CSRF cookie)."""
    return "browser:" + token_digest(browser_secret)[:32]


def options_policy(settings: Settings) -> Policy:
    """Each set of options stores a challenge, so anonymous requests for them are limited
    per IP: three times the failed logins an IP may have (every login page asks once for
    the autofill, and again for the button)."""
    window = timedelta(minutes=settings.login_ip_window_minutes)
    return Policy(
        name="passkey-options-ip",
        window=window,
        free=3 * settings.login_ip_failures,
        max_delay=window,
    )


def passkey_login_options(db: Session, ctx: Context, origin: Origin, binding: str) -> str:
    ctx.throttle.reserve(db, options_policy(ctx.settings), origin.ip or "unknown")
    return passkeys.login_options(db, ctx, binding)


def log_in_with_passkey(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    credential_json: str,
    binding: str,
    kind: str,
    device: str | None = None,
) -> SecondFactorResult:
    """A session for the passkey's person, or PasskeyNotAccepted / PasskeyRequestExpired
    — the same answer, after the same work, for an unknown passkey as for a wrong one."""
    settings = ctx.settings
    key, owner = passkeys.claimed_owner(db, credential_json)
    # The account's own counter when the passkey is known; one of the credential's own
    # otherwise, so both cost the same.
    claimed = owner.username if owner else f"passkey:{key}"
    subject = account_subject(ctx.keyring, claimed, settings.default_phone_region)
    # As for passwords: the owner's own device counts apart, so others' failures never
    # hold it (security.trusted_lane).
    lane = security.trusted_lane(db, ctx, owner, origin, device)
    if lane is not None:
        subject = f"{subject}:{lane}"
    ip_subject = origin.ip or "unknown"
    ctx.throttle.reserve(db, ip_policy(settings), ip_subject)
    try:
        ctx.throttle.reserve(db, account_policy(settings), subject)
    except TooManyAttempts:
        ctx.throttle.give_back(db, ip_policy(settings), ip_subject)
        raise
    try:
        used = passkeys.prove_passkey(
            db, ctx, origin, credential_json, purpose=Purpose.LOG_IN, binding=binding
        )
    except MamoriError as error:
        record_event(
            db,
            ctx.clock,
            "login.passkey_failed",
            origin,
            outcome="failure",
            user_id=owner.id if owner else None,
            reason=error.code,
        )
        raise
    ctx.throttle.give_back(db, ip_policy(settings), ip_subject)
    ctx.throttle.clear(db, account_policy(settings), subject)
    return _start(db, ctx, origin, used.user, used.passkey.public_id, kind, device)


def _start(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    passkey: str,
    kind: str,
    device: str | None,
) -> SecondFactorResult:
    if recovery.apply_due_recoveries(db, ctx, origin, user_id=user.id):
        db.refresh(user)
    # Possession of the key plus the person's PIN or biometric (user verification is
    # required here): two factors in one, so `mfa` with no password.
    session = start_session(db, ctx.clock, ctx.settings, origin, user.id, kind, "hwk mfa")
    record_event(
        db,
        ctx.clock,
        "login.succeeded",
        origin,
        user_id=user.id,
        factor="passkey",
        passkey=passkey,
        session=session.session.public_id,
    )
    security.secure_new_session(db, ctx, origin, user, session.session, device)
    return SecondFactorResult(user, session, Method.PASSKEY)
