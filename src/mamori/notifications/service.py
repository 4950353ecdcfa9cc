"""Security alerts and the outbox every delivery channel writes to.

Alerts never carry a secret. Delivery beyond the outbox (SMTP, SMS providers) plugs
in through `Channel`; the outbox copy is what "Emails from mamori" lists.
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.core.clock import Clock
from mamori.core.i18n import translator
from mamori.notifications.models import OutboxMessage


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
) -> OutboxMessage:
    message = OutboxMessage(
        created_at=clock.now(),
        channel=channel,
        to=to,
        subject=subject,
        body=body,
        user_id=user_id,
        kind=kind,
    )
    db.add(message)
    db.flush()
    return message


def alert_user(
    db: Session,
    clock: Clock,
    user: Recipient,
    subject: str,
    body: str,
    base_url: str,
    **values: object,
) -> OutboxMessage | None:
    """Tell the owner about a security event, in their language, with "This wasn't me"."""
    if not user.email:
        return None
    _ = translator(user.locale)
    text = (
        _(body, **values)
        + "\n\n"
        + _(
            "If this wasn't you, secure your account now: %(link)s",
            link=f"{base_url.rstrip('/')}/accounts/center/password-and-security",
        )
    )
    return deliver(
        db,
        clock,
        channel="email",
        to=user.email,
        subject=_(subject, **values),
        body=text,
        user_id=user.id,
    )


def outbox(db: Session, limit: int = 100) -> list[OutboxMessage]:
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    return list(db.scalars(query))
