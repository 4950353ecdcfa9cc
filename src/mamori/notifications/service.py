"""Security alerts and the delivery channels: the outbox, SMTP and an SMS provider.

Every message is first written to the outbox (the development outbox at /dev/outbox and
the user's "Emails from mamori"). The row's status says where it stands, so no page ever
claims a message went out when it did not:

- "pending" / "sending": queued for the delivery worker (notifications/delivery.py),
  which hands it to its channel outside any request and retries a failure with backoff.
- "outbox": no channel is configured and mamori runs in development; the outbox is
  the delivery.
- "sent": the SMTP server or SMS provider accepted it (`provider_ref` traces it).
- "failed": the channel refused it, did not answer, or production has no channel for it
  (a security code: at once; anything else: after MAMORI_DELIVERY_MAX_ATTEMPTS). Logged
  and audited (delivery.failed); `mamori outbox retry` queues a failed alert again.

Alerts and every other message without a secret are queued in the caller's unit of
work: an alert exists exactly when the change it reports committed, and no request
waits for SMTP. A security code is the exception, see `send_email`.

Outside development a message may name a `secret` (a security code, a link that acts on
the account): the stored copy has it blanked, so a database dump reveals none. What the
delivery worker must still send waits sealed in `sealed_body` until it is handed over.
"""

from __future__ import annotations

import logging
import re
from datetime import timedelta
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.clock import Clock
from mamori.core.errors import TooManyAttempts
from mamori.core.i18n import translator
from mamori.notifications.channels import NO_CHANNEL, ChannelError, channel_configured, hand_over
from mamori.notifications.delivery import (
    HELD_BY_SMS_CAP,
    sealed_context,
    wake_worker_after_commit,
)
from mamori.notifications.errors import (
    DeliveryFailed,
    DeliveryNotConfigured,
)
from mamori.notifications.links import wasnt_me_url
from mamori.notifications.models import (
    FAILED,
    OUTBOX_ONLY,
    PENDING,
    SENT,
    OutboxMessage,
)
from mamori.notifications.quotas import reserve_sends, sms_slots
from mamori.observability.metrics import count_sms_held

log = logging.getLogger("mamori.notifications")

REDACTED = "••••••"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


class Recipient(Protocol):
    id: int
    email: str | None
    locale: str


def deliver(
    db: Session,
    clock: Clock,
    *,
    channel: str,
    to: str,
    subject: str,
    body: str,
    user_id: int | None,
    kind: str = "alert",
    status: str = OUTBOX_ONLY,
    template: str | None = None,
) -> OutboxMessage:
    """Write a message to the outbox only. Channels go through send_email / send_sms."""
    message = OutboxMessage(
        created_at=clock.now(),
        channel=channel,
        to=to,
        subject=subject,
        body=body,
        user_id=user_id,
        kind=kind,
        template=(template or kind)[:64],
        status=status,
        attempts=0,
    )
    db.add(message)
    db.flush()
    return message


def send_email(
    db: Session,
    ctx: Context,
    *,
    to: str,
    subject: str,
    body: str,
    user_id: int | None,
    kind: str = "alert",
    secret: str | None = None,
    origin: Origin | None = None,
    template: str | None = None,
    in_background: bool = False,
) -> OutboxMessage:
    """Record the e-mail and queue it for the delivery worker; a code is sent at once."""
    message = deliver(
        db,
        ctx.clock,
        channel="email",
        to=to,
        subject=subject,
        body=_stored_body(ctx, body, secret),
        user_id=user_id,
        kind=kind,
        template=template,
    )
    _send_or_queue(db, ctx, message, body, kind, secret, origin, in_background)
    return message


def send_sms(
    db: Session,
    ctx: Context,
    *,
    to: str,
    body: str,
    user_id: int | None,
    kind: str = "code",
    secret: str | None = None,
    origin: Origin | None = None,
    template: str | None = None,
    in_background: bool = False,
    reserved: bool = False,
) -> OutboxMessage | None:
    """Record the text message and queue it; a code is sent at once. `to` is E.164.

    Every text counts against the hourly cap of all SMS (and an alert against its
    number's limit too, notifications/quotas.py): a security code's sender reserved that
    with the code's own quotas (`reserved=True`), anything else is reserved here. An
    alert over the cap is not texted: when the account has an e-mail address it is
    diverted there (every SMS alert is a copy of an e-mail alert, which went out with
    it) and None is returned; otherwise it waits in the outbox until the cap frees."""
    held_seconds = None
    if not reserved:
        try:
            reserve_sends(db, ctx.clock, sms_slots(ctx.settings, ctx.keyring, to, kind))
        except TooManyAttempts as refused:
            if kind == "code":
                raise
            if _has_email(db, user_id):
                _divert_to_email(db, ctx, user_id, kind, template, origin)
                return None
            held_seconds = refused.retry_after_seconds
    message = deliver(
        db,
        ctx.clock,
        channel="sms",
        to=to,
        subject="",
        body=_stored_body(ctx, body, secret),
        user_id=user_id,
        kind=kind,
        template=template,
    )
    if held_seconds is not None:
        _hold_until_the_cap_frees(db, ctx, message, body, held_seconds, origin)
        return message
    _send_or_queue(db, ctx, message, body, kind, secret, origin, in_background)
    return message


def _has_email(db: Session, user_id: int | None) -> bool:
    if user_id is None:
        return False
    return db.scalar(select(User.email).where(User.id == user_id)) is not None


def _divert_to_email(
    db: Session,
    ctx: Context,
    user_id: int | None,
    kind: str,
    template: str | None,
    origin: Origin | None,
) -> None:
    count_sms_held(kind, "diverted_to_email")
    record_event(
        db,
        ctx.clock,
        "delivery.sms_held",
        origin or Origin(),
        user_id=user_id,
        outcome="failure",
        kind=kind,
        template=template or kind,
        reason="sms_cap",
        held="diverted_to_email",
    )


def _hold_until_the_cap_frees(
    db: Session,
    ctx: Context,
    message: OutboxMessage,
    body: str,
    seconds: int,
    origin: Origin | None,
) -> None:
    """Pending, due when the cap frees; the worker reserves a slot again before sending."""
    count_sms_held(message.kind, "waiting")
    _seal_for_worker(ctx, message, body)
    message.status = PENDING
    message.next_attempt_at = ctx.clock.now() + timedelta(seconds=seconds)
    message.last_error = HELD_BY_SMS_CAP
    db.flush()
    record_event(
        db,
        ctx.clock,
        "delivery.sms_held",
        origin or Origin(),
        user_id=message.user_id,
        outcome="failure",
        kind=message.kind,
        template=message.template,
        message_id=message.id,
        reason="sms_cap",
        held="waiting",
    )


def _send_or_queue(
    db: Session,
    ctx: Context,
    message: OutboxMessage,
    body: str,
    kind: str,
    secret: str | None,
    origin: Origin | None,
    in_background: bool = False,
) -> None:
    if in_background:
        # The caller must answer alike whether or not a message goes out (recovery): the
        # worker sends it, from a sealed copy, since the stored body has the secret blanked.
        _seal_for_worker(ctx, message, body)
        _queue(db, ctx, message)
        return
    # A security code is handed over now, inside the request: the person is waiting for
    # it and must be told at once when the provider is down (502 delivery_failed) rather
    # than wait for a code that may come after it expired; and its text cannot wait in
    # the outbox, where only the blanked copy is kept. Sends are throttled per binding,
    # destination, IP and globally, which bounds how long SQLite's write lock is held.
    if kind == "code" or secret is not None:
        _send_now(db, ctx, message, body, origin)
    else:
        _queue(db, ctx, message)


def _stored_body(ctx: Context, body: str, *secrets: str | None) -> str:
    # In development the outbox is how a developer reads the code; nowhere else.
    if ctx.settings.development:
        return body
    for secret in secrets:
        if secret:
            body = body.replace(secret, REDACTED)
    return body


def _seal_for_worker(ctx: Context, message: OutboxMessage, body: str) -> None:
    """Keep the text as sent only sealed, bound to this message, where it differs from the
    stored (blanked) copy; the worker unseals it for the hand-over."""
    if message.body != body:
        message.sealed_body = ctx.keyring.seal(body, sealed_context(message.id))


def _queue(db: Session, ctx: Context, message: OutboxMessage) -> None:
    """Leave the message to the delivery worker, once the caller's unit of work commits."""
    if ctx.settings.development and not channel_configured(ctx.settings, message.channel):
        return  # the outbox is the delivery
    # Production without a channel queues too: the worker records why it cannot send,
    # and the message goes out once the operator configures the channel.
    message.status = PENDING
    message.next_attempt_at = ctx.clock.now()
    db.flush()
    wake_worker_after_commit(db)


def _send_now(
    db: Session, ctx: Context, message: OutboxMessage, body: str, origin: Origin | None
) -> None:
    if not channel_configured(ctx.settings, message.channel):
        if ctx.settings.development:
            return
        _mark_failed(db, ctx, message, origin, NO_CHANNEL)
        raise DeliveryNotConfigured(channel=message.channel)
    message.attempts = 1
    try:
        reference = hand_over(
            ctx.settings,
            ctx.clock,
            channel=message.channel,
            to=message.to,
            subject=message.subject,
            body=body,  # the stored copy may have the code blanked
        )
    except ChannelError as exc:
        _mark_failed(db, ctx, message, origin, exc.reason)
        raise DeliveryFailed(channel=message.channel) from exc
    message.provider_ref = reference[:255] or None
    message.status = SENT
    message.sent_at = ctx.clock.now()
    db.flush()


def _mark_failed(
    db: Session, ctx: Context, message: OutboxMessage, origin: Origin | None, reason: str
) -> None:
    message.status = FAILED
    message.last_error = reason[:200]
    db.flush()
    log.warning(
        "delivery failed: message %s (%s, %s) for user %s: %s",
        message.id,
        message.channel,
        message.kind,
        message.user_id,
        reason,
    )
    record_event(
        db,
        ctx.clock,
        "delivery.failed",
        origin or Origin(),
        user_id=message.user_id,
        outcome="failure",
        channel=message.channel,
        kind=message.kind,
        template=message.template,
        message_id=message.id,
        attempts=message.attempts,
        reason=reason[:200],
    )


def alert_user(
    db: Session,
    ctx: Context,
    user: Recipient,
    subject: str,
    body: str,
    **values: object,
) -> OutboxMessage | None:
    """Tell the owner about a security event, in their language, with "This wasn't me".

    Goes to the account's registered e-mail, confirmed or not: an alert protects the
    account and carries no secret.

    The alert is queued in the caller's unit of work, so it exists exactly when the
    change it reports committed, and the delivery worker sends it: the request never
    waits for SMTP, and a failed hand-over is retried, then audited (delivery.failed).
    An optional `template="password.changed"` names the message kind, the same in every
    language; by default it is derived from the (English) subject, e.g.
    "alert.your_password_was_changed". (It travels in `values`, so callers that forward
    `**values` keep type-checking.)
    """
    template = values.pop("template", None)
    secret = values.pop("secret", None)
    if not user.email:
        return None
    _ = translator(user.locale)
    # Values such as a method's name are catalog messages too ("authenticator app").
    values = {key: _(value) if isinstance(value, str) else value for key, value in values.items()}
    wasnt_me = wasnt_me_url(db, ctx.keyring, ctx.settings.base_url, user.id, ctx.clock.now())
    text = (
        _(body, **values)
        + "\n\n"
        + _("If this wasn't you, secure your account now: %(link)s", link=wasnt_me)
    )
    subject_text = _(subject, **values)
    message = deliver(
        db,
        ctx.clock,
        channel="email",
        to=user.email,
        subject=subject_text,
        # The links act on the account (This wasn't me, a recovery's cancel link): a
        # database dump must not hand them out, so the kept copy has them blanked.
        body=_stored_body(ctx, text, wasnt_me, str(secret) if secret else None),
        user_id=user.id,
        template=str(template) if template else alert_template(subject),
    )
    _seal_for_worker(ctx, message, text)
    _queue(db, ctx, message)
    return message


def alert_template(subject: str) -> str:
    """A stable name for an alert from its catalog subject (its English msgid)."""
    words = re.sub(r"[^a-z0-9]+", "_", PLACEHOLDER.sub("", subject).casefold()).strip("_")
    return f"alert.{words}"[:64]


def queue_for_app(
    db: Session, ctx: Context, *, channel: str, to: str, subject: str, body: str, kind: str
) -> OutboxMessage:
    """A message to an app rather than a person (a back-channel logout token): delivered
    by the worker, retried like an alert, kept sealed (only the worker reads `body`)."""
    message = OutboxMessage(
        created_at=ctx.clock.now(),
        channel=channel,
        to=to,
        subject=subject,
        body=REDACTED,
        kind=kind,
        template=kind,
    )
    db.add(message)
    db.flush()
    _seal_for_worker(ctx, message, body)
    _queue(db, ctx, message)
    return message
