"""security center: forced password change, reviews, password ratings, "This wasn't me",
known devices on sessions

Revision ID: 0009
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0009"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "security_states",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "password_change_required_at",
            mamori.core.db.UTCDateTime(timezone=True),
            nullable=True,
        ),
        sa.Column("reviewed_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("password_score", sa.Integer(), nullable=True),
        sa.Column("password_common", sa.Boolean(), nullable=True),
        sa.Column("password_rated_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_security_states_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_security_states")),
    )
    op.create_table(
        "disowned_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("link_digest", sa.String(length=64), nullable=False),
        sa.Column("event_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("confirmed_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_disowned_events_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_disowned_events")),
        sa.UniqueConstraint("link_digest", name=op.f("uq_disowned_events_link_digest")),
    )
    with op.batch_alter_table("disowned_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_disowned_events_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("device_digest", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), server_default=sa.false(), nullable=False
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("device_digest")

    with op.batch_alter_table("disowned_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_disowned_events_user_id"))

    op.drop_table("disowned_events")
    op.drop_table("security_states")
