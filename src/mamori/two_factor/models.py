from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class TwoFactorSettings(Base):
    """Whether two-factor is on for an account, and which method the login asks for first."""

    __tablename__ = "two_factor_settings"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    default_method: Mapped[str] = mapped_column(String(16))
    enabled_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PhoneMethod(Base):
    """Text-message codes to a phone number (E.164); it counts only once confirmed."""

    __tablename__ = "two_factor_phones"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    phone: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
