from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime

# OutboxMessage.status: where a message stands.
OUTBOX_ONLY = "outbox"  # no channel configured (development): the outbox is the delivery
PENDING = "pending"  # waiting for the delivery worker, at `next_attempt_at` (None: at once)
SENDING = "sending"  # a worker claimed it at `claimed_at` and is handing it over
SENT = "sent"  # the SMTP server or SMS provider accepted it
FAILED = "failed"  # given up: the person did not get it (`mamori outbox retry` tries again)

STATUSES = (PENDING, SENDING, SENT, FAILED, OUTBOX_ONLY)


class OutboxMessage(Base):
    """Every message mamori sent: the development outbox and the user's "Emails from mamori"."""

    __tablename__ = "outbox_messages"
    # The worker's question, "what is due?", is answered from this index.
    __table_args__ = (Index("ix_outbox_messages_due", "status", "next_attempt_at"),)

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
    # Which message this is, the same in every language ("alert.your_password_was_changed").
    template: Mapped[str | None] = mapped_column(String(64), nullable=True)
    status: Mapped[str] = mapped_column(String(16), default=OUTBOX_ONLY, server_default=OUTBOX_ONLY)
    # The SMTP Message-ID or the provider's message sid, to trace a complaint.
    provider_ref: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Hand-overs tried so far, counted when a worker claims the message (a crash counts too).
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The channel's reason for the last failure: names what failed, never a recipient or secret.
    last_error: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # A message with a secret (a recovery code) left to the worker: `body` has the secret
    # blanked; this sealed copy is what gets sent, and it is cleared once sent or given up.
    sealed_body: Mapped[str | None] = mapped_column(Text, nullable=True)
