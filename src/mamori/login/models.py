from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class LoginChallenge(Base):
    """A login that passed the password step and waits for a second factor.

    The challenge token is a bearer secret held by the browser (cookie) or API client
    that started it; only its digest is stored.
    """

    __tablename__ = "login_challenges"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    # The account's credential stamp when the password was accepted: a password change,
    # a recovery or an ended-sessions event since then makes the challenge stale.
    credential_stamp: Mapped[str | None] = mapped_column(String(64), nullable=True)
