"""What the pages and the API show of alerts, login activity and messages, in
the reader's language. Plain data in, plain data out: no HTTP, no templates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from mamori.audit.models import AuditEvent
from mamori.codes.service import Channel, mask_destination
from mamori.notifications.models import OutboxMessage
from mamori.security.service import alert_title
from mamori.sessions.devices import describe_device
from mamori.two_factor.service import METHOD_NAMES

Gettext = Callable[..., str]

MESSAGE_STATUS = {
    "pending": "Waiting to be sent",
    "sending": "Being sent",
    "outbox": "Kept in the outbox (development)",
    "sent": "Sent",
    "failed": "Not delivered",
}
LOGIN_KINDS = {
    "login.succeeded": "Logged in",
    "login.password_failed": "Wrong password",
    "login.second_factor_failed": "Wrong two-factor code",
}


@dataclass(frozen=True)
class AlertView:
    id: int
    event: str
    title: str
    detail: str | None
    at: datetime
    ip: str | None
    device: str


@dataclass(frozen=True)
class ActivityView:
    id: int
    event: str
    title: str
    succeeded: bool
    at: datetime
    ip: str | None
    device: str


@dataclass(frozen=True)
class MessageView:
    id: int
    channel: str
    subject: str
    to: str
    status: str
    status_text: str
    created_at: datetime


def alert_view(event: AuditEvent, _: Gettext) -> AlertView:
    method = event.details.get("method") if isinstance(event.details, dict) else None
    detail = _(METHOD_NAMES[method]) if isinstance(method, str) and method in METHOD_NAMES else None
    return AlertView(
        id=event.id,
        event=event.event,
        title=_(alert_title(event.event)),
        detail=detail,
        at=event.at,
        ip=event.ip,
        device=describe_device(event.user_agent, _),
    )


def activity_view(event: AuditEvent, _: Gettext) -> ActivityView:
    return ActivityView(
        id=event.id,
        event=event.event,
        title=_(LOGIN_KINDS.get(event.event, event.event)),
        succeeded=event.outcome == "success",
        at=event.at,
        ip=event.ip,
        device=describe_device(event.user_agent, _),
    )


def message_view(message: OutboxMessage, _: Gettext) -> MessageView:
    """Subject, when, where to (masked) and status: never the body, which may hold a code
    (blanked in storage outside development, but shown nowhere here either way)."""
    channel: Channel = "sms" if message.channel == "sms" else "email"
    subject = message.subject or (
        _("Text message: security code") if message.kind == "code" else _("Text message")
    )
    return MessageView(
        id=message.id,
        channel=channel,
        subject=subject,
        to=mask_destination(channel, message.to),
        status=message.status,
        status_text=_(MESSAGE_STATUS.get(message.status, message.status)),
        created_at=message.created_at,
    )
