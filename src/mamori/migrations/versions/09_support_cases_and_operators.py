"""support: cases (sealed), their evidence files, and the operators who work them

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operators",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("granted_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("granted_by", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_operators_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_operators")),
    )
    op.create_table(
        "support_cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("login_sealed", sa.Text(), nullable=False),
        sa.Column("contact_email_sealed", sa.Text(), nullable=False),
        sa.Column("contact_email_masked", sa.String(length=100), nullable=False),
        sa.Column("what_happened_sealed", sa.Text(), nullable=False),
        sa.Column("locale", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Integer(), nullable=True),
        sa.Column("decision_sealed", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_support_cases_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_support_cases_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_cases")),
        sa.UniqueConstraint("reference", name=op.f("uq_support_cases_reference")),
    )
    with op.batch_alter_table("support_cases", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_support_cases_status"), ["status"], unique=False)
        batch_op.create_index(batch_op.f("ix_support_cases_user_id"), ["user_id"], unique=False)

    op.create_table(
        "support_evidence",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("case_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("filename_sealed", sa.Text(), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("sealed", sa.LargeBinary(), nullable=False),
        sa.ForeignKeyConstraint(
            ["case_id"],
            ["support_cases.id"],
            name=op.f("fk_support_evidence_case_id_support_cases"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_evidence")),
        sa.UniqueConstraint("case_id", "position", name=op.f("uq_support_evidence_case_id")),
    )


def downgrade() -> None:
    op.drop_table("support_evidence")
    with op.batch_alter_table("support_cases", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_support_cases_user_id"))
        batch_op.drop_index(batch_op.f("ix_support_cases_status"))

    op.drop_table("support_cases")
    op.drop_table("operators")
