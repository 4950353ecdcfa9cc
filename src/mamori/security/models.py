from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class SecurityState(Base):
    """What the security center must remember about an account that the audit log cannot
    answer: a forced password change, the last review, and how strong the password is.

    The password's rating is taken when the plaintext is known anyway (sign-up, login,
    change); the password itself is never kept. A rating older than the password's last
    change no longer counts.
    """

    __tablename__ = "security_states"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    password_change_required_at: Mapped[datetime | None] = mapped_column(
        UTCDateTime(), nullable=True
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # zxcvbn's score, 0 (guessable in seconds) to 4 (very hard).
    password_score: Mapped[int | None] = mapped_column(Integer, nullable=True)
    password_common: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    password_rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class DisownedEvent(Base):
    """A confirmed "This wasn't me". The unique link digest makes each link work once."""

    __tablename__ = "disowned_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # SHA-256 of the link's MAC: a dump shows which links were used, never a usable one.
    link_digest: Mapped[str] = mapped_column(String(64), unique=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime())
