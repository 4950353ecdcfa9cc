from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime

# Only a confirmed address is unique: anyone may type any address at sign-up, and two
# accounts holding it unconfirmed say nothing about who owns it (issue 16, finding 5).
CONFIRMED_EMAIL = text("email_confirmed_at IS NOT NULL")
CONFIRMED_PHONE = text("phone_confirmed_at IS NOT NULL")


class User(Base):
    __tablename__ = "users"
    __table_args__ = (
        Index(
            "uq_users_confirmed_email_key",
            "email_key",
            unique=True,
            sqlite_where=CONFIRMED_EMAIL,
            postgresql_where=CONFIRMED_EMAIL,
        ),
        Index(
            "uq_users_confirmed_phone",
            "phone",
            unique=True,
            sqlite_where=CONFIRMED_PHONE,
            postgresql_where=CONFIRMED_PHONE,
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(30))
    # Lookup keys: case-folded username and e-mail, so "Hana" and "hana" are one account.
    username_key: Mapped[str] = mapped_column(String(30), unique=True)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    email_key: Mapped[str | None] = mapped_column(String(254), nullable=True)
    email_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(20), nullable=True)
    phone_confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    password_changed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locale: Mapped[str] = mapped_column(String(8), default="en")
    # IANA name ("Asia/Tokyo"): every time a page or message shows this person is in it.
    # Set from the browser on the first page after a login, changeable in Accounts Center.
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Moves on with every "end every other session" (password change, recovery, "This
    # wasn't me", disable, log out elsewhere): with the password hash, it makes the
    # credential stamp that open logins and "Confirm it's you" windows are bound to.
    credential_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
