"""The outbox as people look at it: the development inbox (what reached people), the
operators' list of messages by status, and an operator's retry of a failed one."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.core.clock import Clock
from mamori.notifications.delivery import wake_worker_after_commit
from mamori.notifications.errors import MessageNotFound, NotRetryable
from mamori.notifications.models import FAILED, PENDING, STATUSES, OutboxMessage


def outbox(db: Session, limit: int = 100) -> list[OutboxMessage]:
    """What reached people (e-mail and SMS), newest first; not what went to apps."""
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.channel.in_(("email", "sms")))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))


def messages(db: Session, *, status: str | None = None, limit: int = 50) -> list[OutboxMessage]:
    """The newest messages, optionally only those in one status (operators' view)."""
    if status is not None and status not in STATUSES:
        raise ValueError(f"status must be one of {', '.join(STATUSES)}")
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
    if status is not None:
        query = query.where(OutboxMessage.status == status)
    return list(db.scalars(query))


def retry_message(db: Session, clock: Clock, message_id: int) -> OutboxMessage:
    """Queue a failed message again, with a fresh set of attempts (an operator's decision).

    Raises MessageNotFound, or NotRetryable for a security code (its text was not kept and
    it expires within minutes: the person asks for a new one) and for any message that
    has not failed."""
    message = db.get(OutboxMessage, message_id)
    if message is None:
        raise MessageNotFound()
    if message.kind == "code":
        raise NotRetryable(
            "A security code is not sent again: it expires within minutes and its text "
            "was not kept. The person asks for a new code."
        )
    result = cast(
        CursorResult[Any],
        db.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == FAILED)
            .values(status=PENDING, attempts=0, next_attempt_at=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
        refusal = NotRetryable("Only a failed message is sent again; this one is %(status)s.")
        refusal.values = {"status": message.status}
        raise refusal
    db.refresh(message)
    record_event(
        db,
        clock,
        "delivery.requeued",
        Origin.operator(),
        user_id=message.user_id,
        channel=message.channel,
        kind=message.kind,
        template=message.template,
        message_id=message.id,
    )
    wake_worker_after_commit(db)
    return message
