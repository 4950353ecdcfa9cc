"""Trusted contacts at rest: who chose whom, and the requests for help during a recovery.

A contact's code is never stored in clear: only a keyed digest bound to the one recovery
attempt it was made for. It is made when the contact confirms they will pass it on by
voice, shown once, and a new one replaces it; nothing is sealed for showing again.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class TrustedContact(Base):
    """The owner chose `contact` to help them back in. Counts only while not declined."""

    __tablename__ = "trusted_contacts"
    __table_args__ = (UniqueConstraint("owner_id", "contact_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    chosen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The contact said no. The row stays so the owner sees it and cannot choose them
    # again without first removing them.
    declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class TrustedContactRequest(Base):
    """One recovery attempt asking one contact for a code."""

    __tablename__ = "trusted_contact_requests"
    __table_args__ = (UniqueConstraint("attempt_id", "contact_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the contact's page and API name it by: random, says nothing.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_attempts.id", ondelete="CASCADE"), index=True
    )
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    contact_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    asked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The request and any code made for it stop working then.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # HMAC(pepper, attempt id ‖ code): the code works for this attempt only.
    code_digest: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    code_issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Set by the one conditional UPDATE that spends the code: one vouch per contact.
    vouched_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # "This isn't them", or the contact declined or was removed meanwhile.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    closed_reason: Mapped[str | None] = mapped_column(String(16), nullable=True)
