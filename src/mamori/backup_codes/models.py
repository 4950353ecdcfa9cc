"""Backup codes at rest: one set per user, each code stored only as a digest.

A database dump alone reveals no code. In `viewable` mode a code is kept as a keyed digest
(HMAC with the pepper from the secrets file) plus an AES-GCM sealed copy for "view again";
in `hash_only` mode as argon2id of that keyed digest with the set's own random salt.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class BackupCodeSet(Base):
    """The user's current set. At most one per user: "Get new codes" replaces it."""

    __tablename__ = "backup_code_sets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), unique=True)
    mode: Mapped[str] = mapped_column(String(16))
    # The length the codes were made with: a later change of the setting must not lock
    # anyone out of the set they hold.
    digits: Mapped[int] = mapped_column(Integer)
    # hash_only: the per-set argon2id salt (hex). Not secret; it makes every set's digests
    # different, so one precomputed table cannot serve two sets.
    salt: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # hash_only: the argon2id cost the set was made with ("t=2,m=19456,p=1"), so raising
    # the cost in the settings does not lock anyone out of the set they hold.
    kdf_params: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class BackupCode(Base):
    __tablename__ = "backup_codes"
    __table_args__ = (UniqueConstraint("set_id", "position"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Indexed by the (set_id, position) unique constraint.
    set_id: Mapped[int] = mapped_column(ForeignKey("backup_code_sets.id", ondelete="CASCADE"))
    # Order shown to the user, so the grid and the printed sheet agree.
    position: Mapped[int] = mapped_column(Integer)
    # Unique: a typed code is found with one index lookup, whatever the number of accounts.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    # viewable mode only: "<key id>.<nonce + AES-GCM ciphertext>", bound to user and set.
    sealed: Mapped[str | None] = mapped_column(String(200), nullable=True)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
