"""credential stamps: open logins and "Confirm it's you" windows bound to the account's
credential state

Revision ID: 0011
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("credential_generation", sa.Integer(), server_default="0", nullable=False)
        )
    # Rows from before have no stamp: an open login or a confirmation window from before
    # the upgrade ends, which costs a person at most one more step.
    with op.batch_alter_table("login_challenges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("credential_stamp", sa.String(length=64), nullable=True))
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reauthenticated_stamp", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("reauthenticated_stamp")
    with op.batch_alter_table("login_challenges", schema=None) as batch_op:
        batch_op.drop_column("credential_stamp")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("credential_generation")
