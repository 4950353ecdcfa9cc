"""only a confirmed e-mail or phone is unique: two accounts may hold one unconfirmed

Revision ID: 0014
Revises: 0013
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

CONFIRMED_EMAIL = sa.text("email_confirmed_at IS NOT NULL")
CONFIRMED_PHONE = sa.text("phone_confirmed_at IS NOT NULL")


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_email_key", type_="unique")
        batch_op.drop_constraint("uq_users_phone", type_="unique")
        batch_op.create_index(
            "uq_users_confirmed_email_key",
            ["email_key"],
            unique=True,
            sqlite_where=CONFIRMED_EMAIL,
            postgresql_where=CONFIRMED_EMAIL,
        )
        batch_op.create_index(
            "uq_users_confirmed_phone",
            ["phone"],
            unique=True,
            sqlite_where=CONFIRMED_PHONE,
            postgresql_where=CONFIRMED_PHONE,
        )


def downgrade() -> None:
    # Fails while two accounts hold one address unconfirmed: clear one of them first.
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index("uq_users_confirmed_phone")
        batch_op.drop_index("uq_users_confirmed_email_key")
        batch_op.create_unique_constraint("uq_users_phone", ["phone"])
        batch_op.create_unique_constraint("uq_users_email_key", ["email_key"])
