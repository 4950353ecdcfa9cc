"""Sending a code: every quota reserved first, then the code made, sent (or withheld) and stored."""

from __future__ import annotations

import math
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import case, or_
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from mamori.accounts.errors import InvalidEmail, InvalidPhone
from mamori.audit.service import Origin, record_event
from mamori.codes.messages import email_text, message_locale, sms_text
from mamori.codes.models import SecurityCode
from mamori.codes.stored import (
    CODE_DIGITS,
    MAX_BINDING,
    PURPOSE,
    Channel,
    binding_digest,
    code_digest,
    code_for,
    mask_destination,
)
from mamori.context import Context
from mamori.core.errors import InvalidRequest, TooManyAttempts
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.quotas import SendQuota, Slot, reserve_sends, sms_slots
from mamori.notifications.service import send_email, send_sms
from mamori.settings import Settings

E164 = re.compile(r"\+[1-9][0-9]{6,14}")
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


@dataclass(frozen=True)
class CodeRequest:
    """A code to send: whose it is (None: no account), what it proves, where it goes.

    `deliver=False` is for a recovery that names no account (or an unconfirmed address):
    every quota is counted and a code digest stored exactly as for a real send, so the
    answers and the later verification look alike, but no message leaves mamori.
    `fail_quietly=True` (recovery) keeps a failed delivery from the caller in the same
    way: it is audited and the outbox row marked failed, the answer is as if sent.
    `in_background=True` (recovery) leaves the hand-over to the delivery worker, so a
    real send takes no longer than a withheld one.
    `also_counts_against`: the caller's own quotas, reserved with the code's own in one go."""

    user_id: int | None
    purpose: str
    binding: str
    channel: Channel
    destination: str  # E.164 for SMS
    locale: str
    deliver: bool = True
    fail_quietly: bool = False
    in_background: bool = False
    also_counts_against: Sequence[Slot] = ()


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


def send_security_code(db: Session, ctx: Context, origin: Origin, request: CodeRequest) -> SentCode:
    """Send a new code for the request's binding to its destination, replacing any older one.

    Raises TooManyAttempts (429, Retry-After) while a quota waits or while a binding that
    used up its attempts rests; DeliveryFailed when the channel failed (the older code,
    if any, then stays as it was).

    Every quota is reserved before the code is made (notifications/quotas.py): of twenty
    sends at once, one gets the slot. A failed send still counts: a provider that timed
    out may have texted anyway."""
    user_id, purpose, binding = request.user_id, request.purpose, request.binding
    channel, destination = request.channel, request.destination
    _check_request(request)
    digest_of_binding = binding_digest(ctx, purpose, binding)
    _refuse_when_resting(db, ctx, origin, digest_of_binding, purpose, channel)
    slots = [*_quotas(ctx, origin, request), *request.also_counts_against]
    try:
        reserve_sends(db, ctx.clock, slots)
    except TooManyAttempts:
        _audit_refused(db, ctx, origin, user_id, purpose, channel, "throttled")
        raise
    code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
    lifetime = code_lifetime(ctx.settings, channel, purpose)
    try:
        if request.deliver and request.in_background:
            message_id = _queue(db, ctx, origin, request, code, lifetime)
        elif request.deliver:
            message_id = _send(db, ctx, origin, request, code, lifetime)
        else:
            _withhold(db, ctx, origin, request, code, lifetime)
            message_id = 0
    except DeliveryFailed:
        if not request.fail_quietly:
            raise
        message_id = 0
    now = ctx.clock.now()
    _store_code(
        db,
        ctx,
        digest_of_binding,
        code_digest(ctx, purpose, binding, code),
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
        delivered=request.deliver,
    )
    resend_wait = timedelta(seconds=ctx.settings.security_code_resend_seconds)
    return SentCode(channel, masked, now + lifetime, now + resend_wait, message_id)


def _check_request(request: CodeRequest) -> None:
    purpose, binding = request.purpose, request.binding
    channel, destination = request.channel, request.destination
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
    current = code_for(db, binding_digest)
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


def _quotas(ctx: Context, origin: Origin, request: CodeRequest) -> list[Slot]:
    settings, keyring = ctx.settings, ctx.keyring
    purpose, binding = request.purpose, request.binding
    channel, destination = request.channel, request.destination
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
    db: Session, ctx: Context, origin: Origin, request: CodeRequest, code: str, lifetime: timedelta
) -> int:
    user_id, purpose, locale = request.user_id, request.purpose, request.locale
    channel, destination = request.channel, request.destination
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
                in_background=request.in_background,
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
                in_background=request.in_background,
            )
    except DeliveryFailed:
        _audit_refused(db, ctx, origin, user_id, purpose, channel, "delivery_failed")
        raise
    return message.id


def _queue(
    db: Session, ctx: Context, origin: Origin, request: CodeRequest, code: str, lifetime: timedelta
) -> int:
    """A queued send, in a savepoint kept: the same statements as `_withhold`, whose
    savepoint is undone, so a real send and a withheld one cost the database alike."""
    with db.begin_nested():
        return _send(db, ctx, origin, request, code, lifetime)


def _withhold(
    db: Session, ctx: Context, origin: Origin, request: CodeRequest, code: str, lifetime: timedelta
) -> None:
    """Do the work of a queued send, then undo it: nothing is written and nothing leaves
    mamori (a queued message is only ever handed over by the worker, after a commit).

    A real send writes its message to the outbox; skipping that made a code for a known
    address measurably slower than one for an unknown address (tests/attacks)."""
    savepoint = db.begin_nested()
    try:
        withheld = replace(request, user_id=None, in_background=True)
        _send(db, ctx, origin, withheld, code, lifetime)
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
