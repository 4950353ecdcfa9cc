"""security codes by SMS / e-mail; delivery status on outbox messages

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("binding_digest", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_security_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_codes")),
        sa.UniqueConstraint("binding_digest", name=op.f("uq_security_codes_binding_digest")),
    )
    with op.batch_alter_table("security_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_security_codes_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_security_codes_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("status", sa.String(length=16), server_default="outbox", nullable=False)
        )
        batch_op.add_column(sa.Column("provider_ref", sa.String(length=255), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbox_messages", schema=None) as batch_op:
        batch_op.drop_column("provider_ref")
        batch_op.drop_column("status")

    with op.batch_alter_table("security_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_codes_user_id"))
        batch_op.drop_index(batch_op.f("ix_security_codes_expires_at"))

    op.drop_table("security_codes")
