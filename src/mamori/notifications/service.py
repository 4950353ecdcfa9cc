"""Security alerts and the delivery channels: the outbox, SMTP and an SMS provider.

Every message is first written to the outbox (the development outbox at /dev/outbox and
the user's "Emails from mamori"), then handed to its channel. The row's status says
what happened, so no page ever claims a message went out when it did not:

- "outbox": no channel is configured and mamori runs in development; the outbox is
  the delivery.
- "sent": the SMTP server or SMS provider accepted it (`provider_ref` traces it).
- "failed": the channel refused it or did not answer in time, or production has no
  channel for it. DeliveryFailed is raised; the failure is logged and audited.

The hand-over happens inside the caller's unit of work, bounded by
MAMORI_DELIVERY_TIMEOUT_SECONDS (10 s): on SQLite the write lock is held meanwhile.

Outside development a message may name a `secret` (a security code): the stored copy
has it blanked, so a database dump reveals no code. Alerts never carry a secret.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.clock import Clock
from mamori.core.i18n import translator
from mamori.notifications.channels import ChannelError, SmtpChannel, TwilioSmsChannel
from mamori.notifications.errors import DeliveryFailed, DeliveryNotConfigured
from mamori.notifications.models import FAILED, OUTBOX_ONLY, SENT, OutboxMessage
from mamori.security.links import wasnt_me_url

log = logging.getLogger("mamori.notifications")

REDACTED = "••••••"


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
        status=status,
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
) -> OutboxMessage:
    """Record the e-mail, then send it by SMTP when MAMORI_SMTP_HOST is set."""
    message = deliver(
        db,
        ctx.clock,
        channel="email",
        to=to,
        subject=subject,
        body=_stored_body(ctx, body, secret),
        user_id=user_id,
        kind=kind,
    )
    _hand_over(db, ctx, message, _by_smtp(ctx, to=to, subject=subject, body=body), origin)
    return message


def _by_smtp(ctx: Context, *, to: str, subject: str, body: str) -> Callable[[], str] | None:
    smtp = SmtpChannel.from_settings(ctx.settings)
    if smtp is None:
        return None
    email = smtp.compose(ctx.clock, to=to, subject=subject, body=body)
    return lambda: smtp.send(email)


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
) -> OutboxMessage:
    """Record the text message, then send it through the SMS provider when one is set.

    `to` is E.164 (+819012345678)."""
    message = deliver(
        db,
        ctx.clock,
        channel="sms",
        to=to,
        subject="",
        body=_stored_body(ctx, body, secret),
        user_id=user_id,
        kind=kind,
    )
    _hand_over(db, ctx, message, _by_provider(ctx, to=to, body=body), origin)
    return message


def _by_provider(ctx: Context, *, to: str, body: str) -> Callable[[], str] | None:
    if not ctx.settings.sms_provider_url:
        return None

    def hand_over() -> str:
        provider = TwilioSmsChannel.from_settings(ctx.settings)  # incomplete: ChannelError
        assert provider is not None
        return provider.send(to=to, body=body)

    return hand_over


def _stored_body(ctx: Context, body: str, secret: str | None) -> str:
    # In development the outbox is how a developer reads the code; nowhere else.
    if secret is None or ctx.settings.development:
        return body
    return body.replace(secret, REDACTED)


def _hand_over(
    db: Session,
    ctx: Context,
    message: OutboxMessage,
    hand_over: Callable[[], str] | None,
    origin: Origin | None,
) -> None:
    if hand_over is None:
        if ctx.settings.development:
            return
        _mark_failed(db, ctx, message, origin, "no channel configured")
        raise DeliveryNotConfigured(channel=message.channel)
    try:
        message.provider_ref = hand_over()[:255] or None
    except ChannelError as exc:
        _mark_failed(db, ctx, message, origin, exc.reason)
        raise DeliveryFailed(channel=message.channel) from exc
    message.status = SENT
    db.flush()


def _mark_failed(
    db: Session, ctx: Context, message: OutboxMessage, origin: Origin | None, reason: str
) -> None:
    message.status = FAILED
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
        message_id=message.id,
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

    A failed delivery does not undo the security change that caused the alert: the
    row is marked failed, logged and audited (delivery.failed), and the change stands.
    """
    if not user.email:
        return None
    _ = translator(user.locale)
    # Values such as a method's name are catalog messages too ("authenticator app").
    values = {key: _(value) if isinstance(value, str) else value for key, value in values.items()}
    text = (
        _(body, **values)
        + "\n\n"
        + _(
            "If this wasn't you, secure your account now: %(link)s",
            link=wasnt_me_url(db, ctx.keyring, ctx.settings.base_url, user.id, ctx.clock.now()),
        )
    )
    subject_text = _(subject, **values)
    message = deliver(
        db,
        ctx.clock,
        channel="email",
        to=user.email,
        subject=subject_text,
        body=text,
        user_id=user.id,
    )
    # A failure is already marked on the row, logged and audited; the change it reports stands.
    with contextlib.suppress(DeliveryFailed):
        _hand_over(
            db, ctx, message, _by_smtp(ctx, to=user.email, subject=subject_text, body=text), None
        )
    return message


def outbox(db: Session, limit: int = 100) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(db.scalars(query))
