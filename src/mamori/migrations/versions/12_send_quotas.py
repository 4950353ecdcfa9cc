"""send quotas: a slot per send, reserved atomically before the message is written

Revision ID: 0013
Revises: 0011
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "send_quotas",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("sends", sa.Integer(), nullable=False),
        sa.Column("window_ends_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("next_send_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_send_quotas")),
    )


def downgrade() -> None:
    op.drop_table("send_quotas")
