"""two-factor: authenticator apps, phones, settings, login challenges

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC = mamori.core.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "totp_authenticators",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("sealed_secret", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("confirmed_at", UTC(timezone=True), nullable=True),
        sa.Column("last_used_step", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_totp_authenticators_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_totp_authenticators")),
    )
    op.create_index(op.f("ix_totp_authenticators_user_id"), "totp_authenticators", ["user_id"])
    op.create_table(
        "two_factor_settings",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("default_method", sa.String(length=16), nullable=False),
        sa.Column("enabled_at", UTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_two_factor_settings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_two_factor_settings")),
    )
    op.create_table(
        "two_factor_phones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("confirmed_at", UTC(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_two_factor_phones_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_two_factor_phones")),
    )
    op.create_index(op.f("ix_two_factor_phones_user_id"), "two_factor_phones", ["user_id"])
    op.create_table(
        "login_challenges",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_digest", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", UTC(timezone=True), nullable=False),
        sa.Column("expires_at", UTC(timezone=True), nullable=False),
        sa.Column("completed_at", UTC(timezone=True), nullable=True),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_login_challenges_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_challenges")),
        sa.UniqueConstraint("token_digest", name=op.f("uq_login_challenges_token_digest")),
    )
    op.create_index(op.f("ix_login_challenges_user_id"), "login_challenges", ["user_id"])


def downgrade() -> None:
    op.drop_table("login_challenges")
    op.drop_table("two_factor_phones")
    op.drop_table("two_factor_settings")
    op.drop_table("totp_authenticators")
