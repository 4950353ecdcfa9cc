from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime

# OutboxMessage.status: where a message stands.
OUTBOX_ONLY = "outbox"  # no channel configured (development): the outbox is the delivery
SENT = "sent"  # the SMTP server or SMS provider accepted it
FAILED = "failed"  # the channel refused it or did not answer: the person did not get it


class OutboxMessage(Base):
    """Every message mamori sent: the development outbox and the user's "Emails from mamori"."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    channel: Mapped[str] = mapped_column(String(8))
    to: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(32), default="alert")
    status: Mapped[str] = mapped_column(String(16), default=OUTBOX_ONLY, server_default=OUTBOX_ONLY)
    # The SMTP Message-ID or the provider's message sid, to trace a complaint.
    provider_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
