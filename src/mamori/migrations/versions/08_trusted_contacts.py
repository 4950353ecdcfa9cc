"""trusted contacts: who chose whom, and their requests for help during a recovery

Revision ID: 0006
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0006"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "trusted_contacts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("chosen_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("declined_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["users.id"],
            name=op.f("fk_trusted_contacts_contact_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_trusted_contacts_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_contacts")),
        sa.UniqueConstraint("owner_id", "contact_id", name=op.f("uq_trusted_contacts_owner_id")),
    )
    with op.batch_alter_table("trusted_contacts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trusted_contacts_contact_id"), ["contact_id"], unique=False
        )

    op.create_table(
        "trusted_contact_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=32), nullable=False),
        sa.Column("attempt_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("contact_id", sa.Integer(), nullable=False),
        sa.Column("asked_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=True),
        sa.Column("code_issued_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("vouched_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("closed_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["attempt_id"],
            ["recovery_attempts.id"],
            name=op.f("fk_trusted_contact_requests_attempt_id_recovery_attempts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["contact_id"],
            ["users.id"],
            name=op.f("fk_trusted_contact_requests_contact_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_trusted_contact_requests_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trusted_contact_requests")),
        sa.UniqueConstraint(
            "attempt_id", "contact_id", name=op.f("uq_trusted_contact_requests_attempt_id")
        ),
        sa.UniqueConstraint("code_digest", name=op.f("uq_trusted_contact_requests_code_digest")),
        sa.UniqueConstraint("public_id", name=op.f("uq_trusted_contact_requests_public_id")),
    )
    with op.batch_alter_table("trusted_contact_requests", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trusted_contact_requests_attempt_id"), ["attempt_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_trusted_contact_requests_contact_id"), ["contact_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("trusted_contact_requests", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trusted_contact_requests_contact_id"))
        batch_op.drop_index(batch_op.f("ix_trusted_contact_requests_attempt_id"))

    op.drop_table("trusted_contact_requests")
    with op.batch_alter_table("trusted_contacts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trusted_contacts_contact_id"))

    op.drop_table("trusted_contacts")
