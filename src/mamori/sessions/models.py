from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from mamori.accounts.models import User
from mamori.core.db import Base, UTCDateTime


class LoginSession(Base):
    """A logged-in browser or API client. Only the SHA-256 digest of its token is kept."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The id users see and revoke by: random, so ids reveal nothing about other accounts.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    user: Mapped[User] = relationship(lazy="select")
    kind: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reauthenticated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The credential stamp the confirmation was made under; a stale one counts as none.
    reauthenticated_stamp: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    ip: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_agent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    # Keyed digest of the device that logged in (a browser's device cookie, or an API
    # client's browser and system), per account: how a new device is told from a known one.
    device_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # How the login that made this session was proven, as RFC 8176 values ("pwd otp mfa"),
    # for OpenID Connect's `amr` and `acr`. None: before mamori kept it (counts as "pwd").
    amr: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # After "This wasn't me": this session may only set a new password.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false()
    )
