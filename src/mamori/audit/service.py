"""The security event log. Events are only ever added; no function here changes one."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.audit.models import AuditEvent
from mamori.core.clock import Clock

# Re-exported: every service records where a change came from along with the event.
from mamori.core.net import Origin as Origin


def record_event(
    db: Session,
    clock: Clock,
    event: str,
    origin: Origin,
    *,
    user_id: int | None = None,
    outcome: str = "success",
    **details: Any,
) -> AuditEvent:
    """Never pass a password, code or token in `details`."""
    entry = AuditEvent(
        at=clock.now(),
        event=event,
        outcome=outcome,
        user_id=user_id,
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:256] or None,
        details=details,
    )
    # Written with the unit of work's next flush (at the latest its commit), together with
    # what else it adds: a flush per event cost a login a round of the ORM's bookkeeping.
    db.add(entry)
    return entry


def recent_events(
    db: Session,
    *,
    user_id: int | None = None,
    event: str | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if user_id is not None:
        query = query.where(AuditEvent.user_id == user_id)
    if event is not None:
        query = query.where(AuditEvent.event == event)
    return list(db.scalars(query))
