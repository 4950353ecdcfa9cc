"""An e-mail address or phone number waiting for its confirmation code.

The account's own `users.email` / `users.phone` stay as they are until the code sent to
the new address comes back: only then does the pending address replace them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class PendingContactChange(Base):
    """At most one per account and kind: asking again for another address replaces it."""

    __tablename__ = "pending_contact_changes"
    __table_args__ = (UniqueConstraint("user_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed by the (user_id, kind) unique constraint.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(8))  # "email" or "phone"
    # "<key id>.<nonce + AES-GCM ciphertext>", bound to the user and kind: a dump does not
    # say where someone is moving their address to.
    sealed_address: Mapped[str] = mapped_column(String(2048))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
