"""The development outbox: what mamori would have e-mailed or texted. 404 in production."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel

from mamori.core.errors import NotFound
from mamori.notifications.service import outbox
from mamori.sessions.signed_in import Db
from mamori.web.deps import Ctx

router = APIRouter(include_in_schema=False)


class OutboxEntry(BaseModel):
    channel: Literal["sms", "email"]
    to: str
    subject: str
    body: str
    created_at: datetime
    # "outbox" (development), "pending", "sending", "sent" or "failed": notifications/service.py
    status: str


@router.get("/dev/outbox")
def development_outbox(db: Db, ctx: Ctx) -> list[OutboxEntry]:
    if not ctx.settings.development:
        raise NotFound()
    return [
        OutboxEntry(
            channel=m.channel,
            to=m.to,
            subject=m.subject,
            body=m.body,
            created_at=m.created_at,
            status=m.status,
        )
        for m in outbox(db)
    ]
