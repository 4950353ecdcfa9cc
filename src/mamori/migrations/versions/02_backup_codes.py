"""backup codes: one set per user, codes stored as digests (plus a sealed copy when viewable)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 08:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "backup_code_sets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("digits", sa.Integer(), nullable=False),
        sa.Column("salt", sa.String(length=64), nullable=True),
        sa.Column("kdf_params", sa.String(length=64), nullable=True),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_backup_code_sets_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_code_sets")),
        sa.UniqueConstraint("user_id", name=op.f("uq_backup_code_sets_user_id")),
    )
    op.create_table(
        "backup_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("set_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("sealed", sa.String(length=200), nullable=True),
        sa.Column("used_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["backup_code_sets.id"],
            name=op.f("fk_backup_codes_set_id_backup_code_sets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_backup_codes")),
        sa.UniqueConstraint("digest", name=op.f("uq_backup_codes_digest")),
        sa.UniqueConstraint("set_id", "position", name=op.f("uq_backup_codes_set_id")),
    )


def downgrade() -> None:
    op.drop_table("backup_codes")
    op.drop_table("backup_code_sets")
