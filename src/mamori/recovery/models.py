"""A "Can't log in?" recovery at rest: the attempt and the proofs gathered for it.

The recovery id a browser or app holds is a 256-bit bearer token; only its digest is
stored. An attempt for a login that matches no account is stored too (user_id NULL), so
every step answers alike whether or not the account exists.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime

# RecoveryAttempt.state
OPEN = "open"  # gathering proofs
HOLDING = "holding"  # complete, waiting out the holding period before it takes effect
COMPLETED = "completed"  # took effect
CANCELLED = "cancelled"  # the owner said "This wasn't me", or the holding recovery died


class RecoveryAttempt(Base):
    __tablename__ = "recovery_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What the owner, trusted contacts and operators see and name it by: random.
    public_id: Mapped[str] = mapped_column(String(32), unique=True)
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # How the person named the account: "username", "email" or "phone". With an e-mail or
    # phone, only that address is offered, so the answer never reveals other addresses.
    login_kind: Mapped[str] = mapped_column(String(8))
    # With an e-mail or phone: that address masked as typed, shown on every step alike
    # whether or not it belongs to an account.
    typed_masked: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # ... and sealed, so that a code "sent" to an unknown address is counted against that
    # address's quota exactly as a real one would be (no throttle tells them apart).
    typed_sealed: Mapped[str | None] = mapped_column(String(512), nullable=True)
    # Keyed digest of the login as typed (canonical): the subject of per-login throttles.
    login_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # SHA-256 of the account's password hash when the attempt began: any password change
    # (by this or another recovery, or by the owner) kills the attempt and all its codes.
    password_stamp: Mapped[str | None] = mapped_column(String(64), nullable=True)
    state: Mapped[str] = mapped_column(String(16), default=OPEN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set at completion; applied when the recovery takes effect (argon2id, like users).
    new_password_hash: Mapped[str | None] = mapped_column(String(256), nullable=True)
    removes_second_factor: Mapped[bool] = mapped_column(Boolean, default=False)
    takes_effect_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # At most one holding recovery per account: a unique column set only while holding.
    holding_user_id: Mapped[int | None] = mapped_column(Integer, unique=True, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # The "This wasn't me — cancel" link in the alerts (a bearer secret; digest only).
    cancel_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    # Which proof opened the attempt when it was not the person at the login page
    # (e.g. "support": an operator approved a support case).
    started_by: Mapped[str] = mapped_column(String(16), default="person")


class RecoveryProof(Base):
    """One independent proof of who the person is (NIST SP 800-63B-4 §4.2)."""

    __tablename__ = "recovery_proofs"
    __table_args__ = (UniqueConstraint("attempt_id", "kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_attempts.id", ondelete="CASCADE"), index=True
    )
    # "email_code", "sms_code", "password", "totp", "backup_code", "trusted_contacts",
    # "support"
    kind: Mapped[str] = mapped_column(String(24))
    proven_at: Mapped[datetime] = mapped_column(UTCDateTime())
