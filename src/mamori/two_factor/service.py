"""Two-factor authentication as a whole: which methods are on, the default, turning it
on and off, and the one failure counter shared by every method (NIST SP 800-63B)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user, normalize_phone
from mamori.audit.service import Origin, record_event
from mamori.backup_codes import service as backup_codes
from mamori.codes import service as codes
from mamori.context import Context
from mamori.core.errors import TooManyAttempts
from mamori.core.throttle import Policy
from mamori.notifications.service import alert_user
from mamori.passkeys import service as passkeys

# METHOD_NAMES and confirmed_phone are re-exported: callers have always found them here.
from mamori.second_factors.methods import METHOD_NAMES as METHOD_NAMES
from mamori.second_factors.methods import Method
from mamori.totp import service as totp
from mamori.two_factor.errors import (
    MethodNotAvailable,
    NoPendingPhone,
    OnlyTwoFactorMethod,
    SecondFactorLocked,
)
from mamori.two_factor.models import PhoneMethod, TwoFactorSettings
from mamori.two_factor.registry import FACTORS, PHISHING_RESISTANT, SET_UP
from mamori.two_factor.security_codes import confirmed_phone as confirmed_phone

# --- the failure counter -------------------------------------------------------------


def second_factor_policy(ctx: Context) -> Policy:
    """Consecutive failures across all methods: free up to 5, then a doubling delay; at 100
    the second-factor step locks until recovery. Only a success clears it."""
    settings = ctx.settings
    return Policy(
        name="second-factor",
        window=timedelta(days=3650),
        free=settings.second_factor_free_failures,
        max_delay=timedelta(seconds=settings.second_factor_max_delay_seconds),
        lock_at=settings.second_factor_lock_failures,
    )


def _subject(user_id: int, lane: str | None) -> str:
    """One counter for everyone else, and one per trusted device (`security.trusted_lane`):
    the owner's success on their own device clears only that device's count, so it never
    hands an attacker elsewhere a fresh 100, and the attacker's lock never holds the owner's
    device. Like a per-IP counter, the shared one is cleared by no success, only by a
    recovery."""
    return f"user:{user_id}" if lane is None else f"user:{user_id}:{lane}"


def check_second_factor_allowed(
    db: Session, ctx: Context, user_id: int, lane: str | None = None
) -> None:
    """Raise while the account waits or is locked. Until the caller's unit of work ends,
    other second-factor attempts on the account wait: a burst of guesses sent at once
    would otherwise all pass this check before the first failure was counted."""
    policy, subject = second_factor_policy(ctx), _subject(user_id, lane)
    ctx.throttle.hold(db, policy, subject)
    state = ctx.throttle.state(db, policy, subject)
    if state.failures >= (policy.lock_at or 10**9):
        raise SecondFactorLocked()
    ctx.throttle.check(db, policy, subject, state)


def record_second_factor_failure(
    db: Session, ctx: Context, user_id: int, lane: str | None = None
) -> int:
    failures = ctx.throttle.record_failure(db, second_factor_policy(ctx), _subject(user_id, lane))
    # The count goes up atomically, so of requests failing at once exactly one sees it.
    if failures == ctx.settings.second_factor_lock_failures:
        _tell_owner_it_locked(db, ctx, user_id, failures)
    return failures


def _tell_owner_it_locked(db: Session, ctx: Context, user_id: int, failures: int) -> None:
    """Every one of those codes came after the right password (or inside a session), so
    the owner learns someone has it, and how to get back in, before they try to log in."""
    user = get_user(db, user_id)
    if user is None:
        return
    record_event(db, ctx.clock, "two_factor.locked", Origin(), user_id=user.id, failures=failures)
    alert_user(
        db,
        ctx,
        user,
        "Two-factor login is locked",
        "Someone entered the right password for your account %(username)s, then "
        "%(count)d wrong two-factor codes in a row, so logging in with a code is now "
        'locked. Get back in with "Can\'t log in?" on the login page, and choose a new '
        "password: whoever did this knows your current one.",
        username=user.username,
        count=failures,
    )


def clear_second_factor_failures(
    db: Session, ctx: Context, user_id: int, lane: str | None = None
) -> None:
    """A trusted device's success clears its own count; a recovery (lane None) clears the
    shared one. A success from an untrusted device clears nothing (`_subject`)."""
    ctx.throttle.clear(db, second_factor_policy(ctx), _subject(user_id, lane))


def is_second_factor_waiting(error: Exception) -> bool:
    return isinstance(error, TooManyAttempts | SecondFactorLocked)


# --- what is on ------------------------------------------------------------------------


def two_factor_settings(db: Session, user_id: int) -> TwoFactorSettings | None:
    return db.get(TwoFactorSettings, user_id)


def enabled_factors(
    db: Session, user_id: int, preferences: TwoFactorSettings | None = None
) -> list[Method]:
    """The methods set up, the default first. `preferences`: already read by the caller."""
    found = [method for method, factor in SET_UP.items() if factor.is_set_up(db, user_id)]
    preferences = preferences or two_factor_settings(db, user_id)
    default = Method.named(preferences.default_method) if preferences else None
    if default in found:
        found.remove(default)
        found.insert(0, default)
    return found


def is_two_factor_on(db: Session, user_id: int) -> bool:
    return two_factor_settings(db, user_id) is not None and bool(enabled_factors(db, user_id))


def login_methods(
    db: Session, ctx: Context, user: User, enabled: list[Method] | None = None
) -> list[Method]:
    """What "Try another way" offers: a passkey first when the person has one (it cannot
    be phished), the methods set up (the default first), then the others this person has
    now (e-mail codes where the operator allows them, backup codes while any remain).
    `enabled`: enabled_factors as the caller just found them."""
    enabled = enabled_factors(db, user.id) if enabled is None else enabled
    # A method that is set up is available (each factor's `available` is its set-up check).
    first = [
        m
        for m in PHISHING_RESISTANT
        if (m in enabled if m in SET_UP else FACTORS[m].available(db, ctx, user))
    ]
    set_up = [m for m in enabled if m not in first]
    others = [m for m, f in FACTORS.items() if m not in SET_UP and f.available(db, ctx, user)]
    return first + set_up + others


def second_step_methods(db: Session, ctx: Context, user: User) -> list[Method]:
    """login_methods when two-factor is on (is_two_factor_on), else none: each factor is
    looked at once."""
    preferences = two_factor_settings(db, user.id)
    if preferences is None:
        return []
    enabled = enabled_factors(db, user.id, preferences)
    return login_methods(db, ctx, user, enabled) if enabled else []


# --- turning methods on and off ---------------------------------------------------------


def method_confirmed(
    db: Session, ctx: Context, origin: Origin, user: User, method: Method
) -> list[str]:
    """After a method is confirmed. Returns the first backup codes when this turned
    two-factor on, else an empty list."""
    preferences = two_factor_settings(db, user.id)
    record_event(db, ctx.clock, "two_factor.method_added", origin, user_id=user.id, method=method)
    if preferences is not None:
        alert_user(
            db,
            ctx,
            user,
            "A two-factor method was added",
            "A new two-factor method (%(method)s) was added to your account.",
            method=METHOD_NAMES[method],
        )
        return []
    db.add(
        TwoFactorSettings(user_id=user.id, default_method=method.value, enabled_at=ctx.clock.now())
    )
    db.flush()
    record_event(db, ctx.clock, "two_factor.turned_on", origin, user_id=user.id, method=method)
    alert_user(
        db,
        ctx,
        user,
        "Two-factor authentication is on",
        "Two-factor authentication was turned on for your account (%(method)s).",
        method=METHOD_NAMES[method],
    )
    return backup_codes.generate_backup_codes(db, ctx, origin, user)


def turn_on_with_passkey(db: Session, ctx: Context, origin: Origin, user: User) -> list[str]:
    """Two-factor on, starting with the person's passkey (added on the Passkeys page).
    Returns the first backup codes; the caller checks "Confirm it's you"."""
    if two_factor_settings(db, user.id) is not None or not SET_UP[Method.PASSKEY].is_set_up(
        db, user.id
    ):
        raise MethodNotAvailable()
    return method_confirmed(db, ctx, origin, user, Method.PASSKEY)


def keep_the_only_method(db: Session, user_id: int) -> None:
    """Before the last passkey goes: not while it is two-factor's only method."""
    if two_factor_settings(db, user_id) is not None and enabled_factors(db, user_id) == [
        Method.PASSKEY
    ]:
        raise OnlyTwoFactorMethod()


def set_default_method(db: Session, ctx: Context, origin: Origin, user: User, method: str) -> None:
    preferences = two_factor_settings(db, user.id)
    chosen = _set_up_method(db, user.id, method)
    if preferences is None:
        raise MethodNotAvailable()
    preferences.default_method = chosen.value
    record_event(
        db, ctx.clock, "two_factor.default_changed", origin, user_id=user.id, method=method
    )
    alert_user(
        db,
        ctx,
        user,
        "Your two-factor settings changed",
        "Your default two-factor method is now: %(method)s.",
        method=METHOD_NAMES[chosen],
    )


def remove_method(db: Session, ctx: Context, origin: Origin, user: User, method: str) -> None:
    """Removing the last method turns two-factor off (and its backup codes go with it)."""
    factors = enabled_factors(db, user.id)
    removed = _set_up_method(db, user.id, method)
    if removed == Method.PASSKEY and factors != [removed]:
        raise MethodNotAvailable()  # passkeys are removed on the Passkeys page
    if factors == [removed]:
        turn_off_two_factor(db, ctx, origin, user)
        return
    SET_UP[removed].remove(db, user.id)
    preferences = two_factor_settings(db, user.id)
    if preferences is not None and preferences.default_method == removed:
        preferences.default_method = next(f for f in factors if f != removed).value
    record_event(db, ctx.clock, "two_factor.method_removed", origin, user_id=user.id, method=method)
    alert_user(
        db,
        ctx,
        user,
        "A two-factor method was removed",
        "A two-factor method (%(method)s) was removed from your account.",
        method=METHOD_NAMES[removed],
    )


def turn_off_two_factor(db: Session, ctx: Context, origin: Origin, user: User) -> None:
    """The caller checks the reauthentication window first."""
    _remove_everything(db, user.id)
    record_event(db, ctx.clock, "two_factor.turned_off", origin, user_id=user.id)
    alert_user(
        db,
        ctx,
        user,
        "Two-factor authentication is off",
        "Two-factor authentication was turned off for your account.",
    )


def remove_every_factor(
    db: Session, ctx: Context, origin: Origin, user: User, *, reason: str
) -> None:
    """Two-factor off as part of a larger change (a recovery that took effect): the
    caller tells the owner about the whole change, so no separate alert here."""
    _remove_everything(db, user.id)
    record_event(db, ctx.clock, "two_factor.turned_off", origin, user_id=user.id, reason=reason)


def _set_up_method(db: Session, user_id: int, method: str) -> Method:
    """The named method, if this person has set it up."""
    named = Method.named(method)
    if named is None or named not in enabled_factors(db, user_id):
        raise MethodNotAvailable()
    return named


def _remove_everything(db: Session, user_id: int) -> None:
    for factor in SET_UP.values():
        factor.remove(db, user_id)
    db.execute(delete(TwoFactorSettings).where(TwoFactorSettings.user_id == user_id))
    backup_codes.delete_backup_codes(db, user_id)


# --- text-message codes -----------------------------------------------------------------


def _enrollment_binding(pending: PhoneMethod) -> str:
    """A code belongs to one number being added (ASVS 6.6.2): another number starts
    afresh, while asking again for the same number keeps its resend wait and failures."""
    return f"enroll-sms:{pending.user_id}:{pending.phone}"


def start_phone_enrollment(
    db: Session, ctx: Context, origin: Origin, user: User, phone: str
) -> str:
    """Text a code to the number; it becomes a method only when that code comes back."""
    number = normalize_phone(phone, ctx.settings.default_phone_region)
    db.execute(
        delete(PhoneMethod).where(
            PhoneMethod.user_id == user.id, PhoneMethod.confirmed_at.is_(None)
        )
    )
    pending = PhoneMethod(user_id=user.id, phone=number, created_at=ctx.clock.now())
    db.add(pending)
    db.flush()
    codes.send_security_code(
        db,
        ctx,
        origin,
        codes.CodeRequest(
            user_id=user.id,
            purpose="enroll_sms",
            binding=_enrollment_binding(pending),
            channel="sms",
            destination=number,
            locale=user.locale,
        ),
    )
    return number


def confirm_phone_enrollment(
    db: Session, ctx: Context, origin: Origin, user: User, typed: str
) -> list[str]:
    pending = db.scalar(
        select(PhoneMethod)
        .where(PhoneMethod.user_id == user.id, PhoneMethod.confirmed_at.is_(None))
        .order_by(PhoneMethod.id.desc())
    )
    if pending is None:
        raise NoPendingPhone()
    codes.verify_security_code(
        db, ctx, origin, purpose="enroll_sms", binding=_enrollment_binding(pending), typed=typed
    )
    db.execute(
        delete(PhoneMethod).where(PhoneMethod.user_id == user.id, PhoneMethod.id != pending.id)
    )
    pending.confirmed_at = ctx.clock.now()
    return method_confirmed(db, ctx, origin, user, Method.SMS)


def confirm_authenticator(
    db: Session, ctx: Context, origin: Origin, user: User, typed: str
) -> list[str]:
    totp.confirm_enrollment(db, ctx, user.id, typed)
    return method_confirmed(db, ctx, origin, user, Method.TOTP)


# The Passkeys page asks two-factor before the last passkey goes (passkeys/ cannot import
# this feature, which sits above it).
passkeys.BEFORE_REMOVING_THE_LAST.append(keep_the_only_method)
