"""Support cases at rest: the last resort of "Can't log in?", and who may work them.

What a person wrote, the address they gave, what they typed to name the account and every
evidence file are sealed (AES-GCM, keys in the secrets file), bound to the case's reference
and to what the value is, so a database dump reveals none of them and no sealed value can
be moved to another case or field. A case whose login names no account is stored too
(user_id NULL): the answer is the same either way, and operators see and deny it.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime

# SupportCase.status
OPEN = "open"  # waiting for an operator
APPROVED = "approved"  # a recovery link went to the contact address
DENIED = "denied"  # closed without a recovery
STATUSES = (OPEN, APPROVED, DENIED)


class SupportCase(Base):
    __tablename__ = "support_cases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The reference the person and the operators name the case by ("K7QX-2MDA-9RTE"): random.
    reference: Mapped[str] = mapped_column(String(16), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # What the person typed to name the account (sealed): operators need it most when it
    # matched nothing.
    login_sealed: Mapped[str] = mapped_column(Text)
    # Sealed: an address of someone locked out of an account is personal data. A masked form
    # serves lists, so listing cases unseals nothing.
    contact_email_sealed: Mapped[str] = mapped_column(Text)
    contact_email_masked: Mapped[str] = mapped_column(String(100))
    what_happened_sealed: Mapped[str] = mapped_column(Text)
    # The language the person wrote in: acknowledgement and denial are written in it.
    locale: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=OPEN, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # The operator's note (approval) or reason (denial), sealed: it may quote the case.
    decision_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)


class SupportEvidence(Base):
    """One file the person attached: JPEG, PNG or PDF, by its first bytes."""

    __tablename__ = "support_evidence"
    __table_args__ = (UniqueConstraint("case_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed by the (case_id, position) unique constraint.
    case_id: Mapped[int] = mapped_column(ForeignKey("support_cases.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    # A file name can say a lot ("passport-hana-tanaka.jpg"): sealed like the content.
    filename_sealed: Mapped[str] = mapped_column(Text)
    content_type: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    # AES-GCM nonce ‖ ciphertext of the raw bytes under `key_id` (binary: base64 text
    # would store a third more).
    key_id: Mapped[str] = mapped_column(String(16))
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class Operator(Base):
    """An account that may work the support queue (granted on the command line)."""

    __tablename__ = "operators"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[str] = mapped_column(String(64))
