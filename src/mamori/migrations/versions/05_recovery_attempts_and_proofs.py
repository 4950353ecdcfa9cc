"""recovery: "Can't log in?" attempts and the proofs gathered for them

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("login_kind", sa.String(length=8), nullable=False),
        sa.Column("typed_masked", sa.String(length=100), nullable=True),
        sa.Column("typed_sealed", sa.String(length=512), nullable=True),
        sa.Column("login_digest", sa.String(length=64), nullable=True),
        sa.Column("password_stamp", sa.String(length=64), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("new_password_hash", sa.String(length=256), nullable=True),
        sa.Column("removes_second_factor", sa.Boolean(), nullable=False),
        sa.Column("takes_effect_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("holding_user_id", sa.Integer(), nullable=True),
        sa.Column("finished_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("cancel_token_digest", sa.String(length=64), nullable=True),
        sa.Column("started_by", sa.String(length=16), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_recovery_attempts_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_attempts")),
        sa.UniqueConstraint(
            "cancel_token_digest", name=op.f("uq_recovery_attempts_cancel_token_digest")
        ),
        sa.UniqueConstraint("holding_user_id", name=op.f("uq_recovery_attempts_holding_user_id")),
        sa.UniqueConstraint("public_id", name=op.f("uq_recovery_attempts_public_id")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_recovery_attempts_token_digest")),
    )
    with op.batch_alter_table("recovery_attempts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_attempts_user_id"), ["user_id"], unique=False)

    op.create_table(
        "recovery_proofs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("proven_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["recovery_attempts.id"],
            name=op.f("fk_recovery_proofs_attempt_id_recovery_attempts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recovery_proofs")),
        sa.UniqueConstraint("attempt_id", "kind", name=op.f("uq_recovery_proofs_attempt_id")),
    )
    with op.batch_alter_table("recovery_proofs", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_recovery_proofs_attempt_id"), ["attempt_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recovery_proofs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_proofs_attempt_id"))

    op.drop_table("recovery_proofs")
    with op.batch_alter_table("recovery_attempts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_attempts_user_id"))

    op.drop_table("recovery_attempts")
