from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class Authenticator(Base):
    """An authenticator app. The secret is sealed (AES-GCM, key id inside the sealed text).

    A user has at most one confirmed app and at most one pending enrollment.
    """

    __tablename__ = "totp_authenticators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    sealed_secret: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The newest time step accepted: a step is accepted once, enforced by a conditional UPDATE.
    last_used_step: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
