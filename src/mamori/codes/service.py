"""Six-digit security codes sent by SMS or e-mail: login challenges, SMS enrollment, recovery.

The rules (DESIGN.md, ASVS 6.5 / 6.6, NIST SP 800-63B-4):

- A code belongs to one `binding` (the login challenge, enrollment or recovery that asked
  for it) and one `purpose`; it is generated with `secrets`, lives 10 minutes (recovery by
  e-mail: 30) and is stored only as a keyed digest.
- A new send for the same binding replaces the code: the old one is dead at once. The
  failure count is kept: resends never buy more guesses.
- Five wrong codes kill the code. The fifth wrong answer is `invalid_code` with
  `attempts_left: 0`; every try after it is `challenge_expired`, and a resend for that
  binding is `too_many_attempts` (429, Retry-After) until an hour after its last send,
  when it starts afresh. A login challenge is shorter-lived than that, so there the
  person starts the login again. After a code is used, the next send starts afresh.
- A right code works once: one conditional UPDATE, counted only when one row changed.
  Typing it again answers `code_already_used`.
- Sends are throttled per binding (a short wait between resends, a few per hour), per
  destination and per IP, and all SMS together have an hourly cap (SMS pumping). Each
  quota's slot is reserved atomically before the code is made: twenty sends at once
  text one code.
"""

from __future__ import annotations

import hmac
import math
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

import phonenumbers
from sqlalchemy import CursorResult, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mamori.accounts.errors import InvalidEmail, InvalidPhone
from mamori.audit.service import Origin, record_event
from mamori.codes.messages import email_text, message_locale, sms_text
from mamori.codes.models import SecurityCode
from mamori.context import Context
from mamori.core.errors import (
    ChallengeExpired,
    CodeAlreadyUsed,
    InvalidCode,
    InvalidRequest,
    TooManyAttempts,
)
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.quotas import SendQuota, Slot, reserve_sends, sms_slots
from mamori.notifications.service import send_email, send_sms
from mamori.settings import Settings

Channel = Literal["sms", "email"]
CODE_DIGITS = 6
PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,31}")
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
MAX_BINDING = 512
# Spaces and every dash people type between digit groups (after NFKC).
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\u30fc]")
MASK = "•••"
# A binding whose attempts are used up refuses new codes this long after its last send.
DEAD_BINDING_REST = timedelta(hours=1)


@dataclass(frozen=True)
class SentCode:
    """What a page may say about a sent code: never the code itself."""

    channel: Channel
    destination: str  # masked: "h•••o@e•••.com", "+81 •• •••• ••78"
    expires_at: datetime
    resend_at: datetime
    message_id: int


def binding_quota(settings: Settings) -> SendQuota:
    return SendQuota(
        name="code-send-binding",
        window=timedelta(hours=1),
        limit=settings.security_code_sends_per_binding,
        cooldown=timedelta(seconds=settings.security_code_resend_seconds),
    )


def destination_quota(settings: Settings) -> SendQuota:
    return SendQuota(
        name="code-send-destination",
        window=timedelta(hours=1),
        limit=settings.security_code_sends_per_destination_hour,
    )


def ip_quota(settings: Settings) -> SendQuota:
    return SendQuota(
        name="code-send-ip",
        window=timedelta(hours=1),
        limit=settings.security_code_sends_per_ip_hour,
    )


def code_lifetime(settings: Settings, channel: Channel, purpose: str) -> timedelta:
    if channel == "sms":
        return timedelta(minutes=settings.security_code_sms_minutes)
    if purpose == "recovery":
        return timedelta(minutes=settings.security_code_recovery_email_minutes)
    return timedelta(minutes=settings.security_code_email_minutes)


def send_security_code(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    user_id: int | None,
    purpose: str,
    binding: str,
    channel: Channel,
    destination: str,
    locale: str,
    deliver: bool = True,
    fail_quietly: bool = False,
    in_background: bool = False,
    also_counts_against: Sequence[Slot] = (),
) -> SentCode:
    """Send a new code for `binding` to `destination` (E.164 for SMS), replacing any older one.

    Raises TooManyAttempts (429, Retry-After) while a quota waits or while a binding that
    used up its attempts rests; DeliveryFailed when the channel failed (the older code,
    if any, then stays as it was).

    `deliver=False` is for a recovery that names no account (or an unconfirmed address):
    every quota is counted and a code digest stored exactly as for a real send, so the
    answers and the later verification look alike, but no message leaves mamori.
    `fail_quietly=True` (recovery) keeps a failed delivery from the caller in the same
    way: it is audited and the outbox row marked failed, the answer is as if sent.
    `in_background=True` (recovery) leaves the hand-over to the delivery worker, so a
    real send takes no longer than a withheld one.
    `also_counts_against`: the caller's own quotas, reserved with the code's own in one go.

    Every quota is reserved before the code is made (notifications/quotas.py): of twenty
    sends at once, one gets the slot. A failed send still counts: a provider that timed
    out may have texted anyway."""
    _check_request(purpose, binding, channel, destination)
    digest_of_binding = _binding_digest(ctx, purpose, binding)
    _refuse_when_resting(db, ctx, origin, digest_of_binding, purpose, channel)
    slots = [*_quotas(ctx, origin, channel, destination, purpose, binding), *also_counts_against]
    try:
        reserve_sends(db, ctx.clock, slots)
    except TooManyAttempts:
        _audit_refused(db, ctx, origin, user_id, purpose, channel, "throttled")
        raise
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    lifetime = code_lifetime(ctx.settings, channel, purpose)
    try:
        if deliver:
            message_id = _send(
                db,
                ctx,
                origin,
                code,
                purpose,
                channel,
                destination,
                locale,
                user_id,
                lifetime,
                in_background,
            )
        else:
            _withhold(db, ctx, origin, code, purpose, channel, destination, locale, lifetime)
            message_id = 0
    except DeliveryFailed:
        if not fail_quietly:
            raise
        message_id = 0
    now = ctx.clock.now()
    _store_code(
        db,
        ctx,
        digest_of_binding,
        _code_digest(ctx, purpose, binding, code),
        purpose=purpose,
        user_id=user_id,
        channel=channel,
        expires_at=now + lifetime,
    )
    masked = mask_destination(channel, destination)
    record_event(
        db,
        ctx.clock,
        "security_code.sent",
        origin,
        user_id=user_id,
        purpose=purpose,
        channel=channel,
        destination=masked,
        message_id=message_id,
        delivered=deliver,
    )
    resend_wait = timedelta(seconds=ctx.settings.security_code_resend_seconds)
    return SentCode(channel, masked, now + lifetime, now + resend_wait, message_id)


def verify_security_code(
    db: Session, ctx: Context, origin: Origin, *, purpose: str, binding: str, typed: str
) -> None:
    """Accept `typed` once if it is the live code of `binding`; otherwise raise.

    InvalidCode (400; `attempts_left` when it counted), ChallengeExpired (410: no live
    code, expired, or its attempts are used up), CodeAlreadyUsed (409: the right code,
    already spent)."""
    code = normalize_code(typed)
    if not PURPOSE.fullmatch(purpose) or len(binding) > MAX_BINDING:
        raise ChallengeExpired()
    row = _code_for(db, _binding_digest(ctx, purpose, binding))
    if row is None or row.purpose != purpose:
        _audit_verify(db, ctx, origin, None, purpose, "failure", "no_code")
        raise ChallengeExpired()
    if code is None:
        _audit_verify(db, ctx, origin, row.user_id, purpose, "failure", "malformed")
        raise InvalidCode()
    digest = _code_digest(ctx, purpose, binding, code)
    right = hmac.compare_digest(digest, row.code_digest)
    if row.used_at is not None:
        _audit_verify(db, ctx, origin, row.user_id, purpose, "failure", "used")
        if right:
            raise CodeAlreadyUsed(row.used_at)
        raise ChallengeExpired()
    if row.failures >= ctx.settings.security_code_max_attempts or row.expires_at <= ctx.clock.now():
        _audit_verify(db, ctx, origin, row.user_id, purpose, "failure", "expired")
        raise ChallengeExpired()
    if right:
        _spend(db, ctx, origin, row, digest)
        return
    _count_wrong_code(db, ctx, origin, row)


def normalize_code(typed: str) -> str | None:
    """Full-width digits, spaces and hyphens are fine ("１２３ ４５６"); anything else is not."""
    if len(typed) > 64:
        return None
    cleaned = SEPARATORS.sub("", unicodedata.normalize("NFKC", typed))
    return cleaned if re.fullmatch(rf"[0-9]{{{CODE_DIGITS}}}", cleaned) else None


def mask_destination(channel: Channel, destination: str) -> str:
    """Enough to recognize one's own address or number, not enough to learn it."""
    if channel == "email":
        local, _, domain = destination.rpartition("@")
        name, _, tld = domain.rpartition(".")
        masked_local = local[:1] + MASK + (local[-1:] if len(local) > 2 else "")
        masked_domain = (name[:1] + MASK + "." + tld) if name else MASK
        return f"{masked_local}@{masked_domain}"
    try:
        number = phonenumbers.parse(destination, None)
        country = f"+{number.country_code}"
        national = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ).removeprefix(country)
    except phonenumbers.NumberParseException:
        return MASK + destination[-2:]
    groups = re.sub(r"[^0-9]+", " ", national).strip()
    digits_seen, masked = sum(ch.isdigit() for ch in groups), []
    for ch in groups:
        if ch.isdigit():
            digits_seen -= 1
            masked.append(ch if digits_seen < 2 else "•")
        else:
            masked.append(ch)
    return f"{country} {''.join(masked)}"


def _check_request(purpose: str, binding: str, channel: str, destination: str) -> None:
    if not PURPOSE.fullmatch(purpose):
        raise ValueError(f"purpose must match {PURPOSE.pattern}")
    if not binding or len(binding) > MAX_BINDING:
        raise InvalidRequest()
    if channel == "sms":
        if not E164.fullmatch(destination):
            raise InvalidPhone()
    elif channel == "email":
        if (
            len(destination) > 254
            or "@" not in destination
            or any(ch.isspace() or unicodedata.category(ch) == "Cc" for ch in destination)
        ):
            raise InvalidEmail()
    else:
        raise InvalidRequest()


def _refuse_when_resting(
    db: Session,
    ctx: Context,
    origin: Origin,
    binding_digest: str,
    purpose: str,
    channel: Channel,
) -> None:
    current = _code_for(db, binding_digest)
    if current is not None and _dead(ctx, current):
        _audit_refused(db, ctx, origin, current.user_id, purpose, channel, "attempts_used")
        wait = current.sent_at + DEAD_BINDING_REST - ctx.clock.now()
        raise TooManyAttempts(math.ceil(wait.total_seconds()))


def _dead(ctx: Context, row: SecurityCode) -> bool:
    """Its attempts are used up and it has not yet rested an hour since its last send."""
    return (
        row.used_at is None
        and row.failures >= ctx.settings.security_code_max_attempts
        and row.sent_at + DEAD_BINDING_REST > ctx.clock.now()
    )


def _binding_digest(ctx: Context, purpose: str, binding: str) -> str:
    return ctx.keyring.keyed_digest("security-code-binding", purpose, binding)


def _code_digest(ctx: Context, purpose: str, binding: str, code: str) -> str:
    return ctx.keyring.keyed_digest("security-code", purpose, binding, code)


def _code_for(db: Session, binding_digest: str) -> SecurityCode | None:
    return db.scalar(select(SecurityCode).where(SecurityCode.binding_digest == binding_digest))


def _quotas(
    ctx: Context, origin: Origin, channel: Channel, destination: str, purpose: str, binding: str
) -> list[Slot]:
    settings, keyring = ctx.settings, ctx.keyring
    # Subjects are digests: the quota table holds no address, number or challenge id.
    quotas: list[Slot] = [
        (binding_quota(settings), keyring.keyed_digest("throttle-binding", purpose, binding)[:32]),
        (
            destination_quota(settings),
            keyring.keyed_digest("throttle-destination", channel, destination.casefold())[:32],
        ),
        (ip_quota(settings), origin.ip or "unknown"),
    ]
    if channel == "sms":  # what every text counts against, reserved here with the rest
        quotas.extend(sms_slots(settings, keyring, destination, "code"))
    return quotas


def _send(
    db: Session,
    ctx: Context,
    origin: Origin,
    code: str,
    purpose: str,
    channel: Channel,
    destination: str,
    locale: str,
    user_id: int | None,
    lifetime: timedelta,
    in_background: bool = False,
) -> int:
    minutes = int(lifetime.total_seconds() // 60)
    try:
        if channel == "sms":
            body = sms_text(
                code=code,
                purpose=purpose,
                minutes=minutes,
                locale=locale,
                base_url=ctx.settings.base_url,
            )
            message = send_sms(
                db,
                ctx,
                to=destination,
                body=body,
                user_id=user_id,
                kind="code",
                secret=code,
                origin=origin,
                in_background=in_background,
                reserved=True,
            )
            assert message is not None  # reserved: never held back
        else:
            text = email_text(
                code=code, purpose=purpose, minutes=minutes, locale=message_locale(locale)
            )
            message = send_email(
                db,
                ctx,
                to=destination,
                subject=text.subject,
                body=text.body,
                user_id=user_id,
                kind="code",
                secret=code,
                origin=origin,
                in_background=in_background,
            )
    except DeliveryFailed:
        _audit_refused(db, ctx, origin, user_id, purpose, channel, "delivery_failed")
        raise
    return message.id


def _withhold(
    db: Session,
    ctx: Context,
    origin: Origin,
    code: str,
    purpose: str,
    channel: Channel,
    destination: str,
    locale: str,
    lifetime: timedelta,
) -> None:
    """Do the work of a queued send, then undo it: nothing is written and nothing leaves
    mamori (a queued message is only ever handed over by the worker, after a commit).

    A real send writes its message to the outbox; skipping that made a code for a known
    address measurably slower than one for an unknown address (tests/attacks)."""
    savepoint = db.begin_nested()
    try:
        _send(db, ctx, origin, code, purpose, channel, destination, locale, None, lifetime, True)
    finally:
        savepoint.rollback()


def _store_code(
    db: Session,
    ctx: Context,
    binding_digest: str,
    code_digest: str,
    *,
    purpose: str,
    user_id: int | None,
    channel: Channel,
    expires_at: datetime,
) -> None:
    """Insert, or replace the binding's code in place: the old code dies, failures stay."""
    now = ctx.clock.now()
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(SecurityCode).values(
        binding_digest=binding_digest,
        purpose=purpose,
        user_id=user_id,
        channel=channel,
        code_digest=code_digest,
        created_at=now,
        sent_at=now,
        expires_at=expires_at,
        used_at=None,
        failures=0,
        sends=1,
    )
    db.execute(
        insert.on_conflict_do_update(
            index_elements=[SecurityCode.binding_digest],
            set_={
                "code_digest": code_digest,
                "channel": channel,
                "sent_at": now,
                "expires_at": expires_at,
                "used_at": None,
                "sends": SecurityCode.sends + 1,
                # A finished flow, or a dead one that has rested, starts afresh; otherwise
                # the failures of the code it replaces carry over.
                "failures": case(
                    (
                        or_(
                            SecurityCode.used_at.is_not(None),
                            SecurityCode.sent_at <= now - DEAD_BINDING_REST,
                        ),
                        0,
                    ),
                    else_=SecurityCode.failures,
                ),
            },
        )
    )
    db.expire_all()  # the upsert bypassed the identity map


def _spend(db: Session, ctx: Context, origin: Origin, row: SecurityCode, digest: str) -> None:
    now = ctx.clock.now()
    result = cast(
        CursorResult[Any],
        db.execute(
            update(SecurityCode)
            .where(
                SecurityCode.id == row.id,
                SecurityCode.code_digest == digest,
                SecurityCode.used_at.is_(None),
                SecurityCode.expires_at > now,
                SecurityCode.failures < ctx.settings.security_code_max_attempts,
            )
            .values(used_at=now)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount == 1:
        _audit_verify(db, ctx, origin, row.user_id, row.purpose, "success", None)
        return
    # Another request spent it (or replaced it) between our read and our write.
    db.refresh(row)
    _audit_verify(db, ctx, origin, row.user_id, row.purpose, "failure", "used")
    if row.used_at is not None and hmac.compare_digest(digest, row.code_digest):
        raise CodeAlreadyUsed(row.used_at)
    raise ChallengeExpired()


def _count_wrong_code(db: Session, ctx: Context, origin: Origin, row: SecurityCode) -> None:
    limit = ctx.settings.security_code_max_attempts
    failures = db.scalar(
        update(SecurityCode)
        .where(
            SecurityCode.id == row.id,
            SecurityCode.used_at.is_(None),
            SecurityCode.failures < limit,
        )
        .values(failures=SecurityCode.failures + 1)
        .returning(SecurityCode.failures)
        .execution_options(synchronize_session=False)
    )
    _audit_verify(db, ctx, origin, row.user_id, row.purpose, "failure", "wrong_code")
    if failures is None:
        raise ChallengeExpired()
    raise InvalidCode(attempts_left=max(0, limit - failures))


def _audit_verify(
    db: Session,
    ctx: Context,
    origin: Origin,
    user_id: int | None,
    purpose: str,
    outcome: str,
    reason: str | None,
) -> None:
    details: dict[str, Any] = {"purpose": purpose}
    if reason:
        details["reason"] = reason
    record_event(
        db, ctx.clock, "security_code.verified", origin, user_id=user_id, outcome=outcome, **details
    )


def _audit_refused(
    db: Session,
    ctx: Context,
    origin: Origin,
    user_id: int | None,
    purpose: str,
    channel: str,
    reason: str,
) -> None:
    record_event(
        db,
        ctx.clock,
        "security_code.send_refused",
        origin,
        user_id=user_id,
        outcome="failure",
        purpose=purpose,
        channel=channel,
        reason=reason,
    )
