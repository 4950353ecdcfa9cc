"""OpenID Connect: apps (clients), subjects, consents, authorization requests and codes,
tokens, signing keys, back-channel logouts; how a session's login was proven (amr)

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import mamori.core.db

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "oidc_clients",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("secret_digest", sa.String(length=64), nullable=True),
        sa.Column("redirect_uris", sa.Text(), nullable=False),
        sa.Column("first_party", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("backchannel_logout_uri", sa.String(length=2000), nullable=True),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("secret_rotated_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("disabled_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_clients")),
        sa.UniqueConstraint("client_id", name=op.f("uq_oidc_clients_client_id")),
    )
    op.create_table(
        "oidc_signing_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=8), nullable=False),
        sa.Column("sealed_private_key", sa.Text(), nullable=False),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("published_until", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_oidc_signing_keys_kid")),
    )
    op.create_table(
        "oidc_authorization_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_digest", sa.String(length=64), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("parameters", sa.Text(), nullable=False),
        sa.Column("session_at_request", sa.Integer(), nullable=True),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("completed_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oidc_clients.id"],
            name=op.f("fk_oidc_authorization_requests_client_pk_oidc_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_authorization_requests")),
        sa.UniqueConstraint(
            "request_digest", name=op.f("uq_oidc_authorization_requests_request_digest")
        ),
    )
    op.create_table(
        "oidc_consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("granted_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("removed_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oidc_clients.id"],
            name=op.f("fk_oidc_consents_client_pk_oidc_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_consents_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_consents")),
        sa.UniqueConstraint("user_id", "client_pk", name=op.f("uq_oidc_consents_user_id")),
    )
    with op.batch_alter_table("oidc_consents", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_consents_user_id"), ["user_id"], unique=False)

    op.create_table(
        "oidc_subjects",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_subjects_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_oidc_subjects")),
        sa.UniqueConstraint("subject", name=op.f("uq_oidc_subjects_subject")),
    )
    op.create_table(
        "oidc_authorization_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("code_digest", sa.String(length=64), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("redirect_uri", sa.String(length=2000), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("nonce", sa.String(length=512), nullable=True),
        sa.Column("code_challenge", sa.String(length=128), nullable=False),
        sa.Column("credential_generation", sa.Integer(), server_default="0", nullable=False),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oidc_clients.id"],
            name=op.f("fk_oidc_authorization_codes_client_pk_oidc_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_sessions.id"],
            name=op.f("fk_oidc_authorization_codes_session_id_login_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_oidc_authorization_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_authorization_codes")),
        sa.UniqueConstraint("code_digest", name=op.f("uq_oidc_authorization_codes_code_digest")),
    )
    with op.batch_alter_table("oidc_authorization_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_oidc_authorization_codes_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_oidc_authorization_codes_user_id"), ["user_id"], unique=False
        )

    op.create_table(
        "oidc_backchannel_logouts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("queued_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oidc_clients.id"],
            name=op.f("fk_oidc_backchannel_logouts_client_pk_oidc_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_sessions.id"],
            name=op.f("fk_oidc_backchannel_logouts_session_id_login_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_backchannel_logouts")),
        sa.UniqueConstraint(
            "session_id", "client_pk", name=op.f("uq_oidc_backchannel_logouts_session_id")
        ),
    )
    op.create_table(
        "oidc_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("lookup", sa.String(length=64), nullable=False),
        sa.Column("family", sa.Integer(), nullable=False),
        sa.Column("client_pk", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=200), nullable=False),
        sa.Column("created_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("expires_at", mamori.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", mamori.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_pk"],
            ["oidc_clients.id"],
            name=op.f("fk_oidc_tokens_client_pk_oidc_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["family"],
            ["oidc_authorization_codes.id"],
            name=op.f("fk_oidc_tokens_family_oidc_authorization_codes"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["login_sessions.id"],
            name=op.f("fk_oidc_tokens_session_id_login_sessions"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_oidc_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_oidc_tokens")),
        sa.UniqueConstraint("lookup", name=op.f("uq_oidc_tokens_lookup")),
    )
    with op.batch_alter_table("oidc_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_oidc_tokens_family"), ["family"], unique=False)
        batch_op.create_index(batch_op.f("ix_oidc_tokens_session_id"), ["session_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_oidc_tokens_user_id"), ["user_id"], unique=False)

    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("amr", sa.String(length=64), nullable=True))


def downgrade() -> None:

    with op.batch_alter_table("login_sessions", schema=None) as batch_op:
        batch_op.drop_column("amr")

    with op.batch_alter_table("oidc_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_tokens_user_id"))
        batch_op.drop_index(batch_op.f("ix_oidc_tokens_session_id"))
        batch_op.drop_index(batch_op.f("ix_oidc_tokens_family"))

    op.drop_table("oidc_tokens")
    op.drop_table("oidc_backchannel_logouts")
    with op.batch_alter_table("oidc_authorization_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_authorization_codes_user_id"))
        batch_op.drop_index(batch_op.f("ix_oidc_authorization_codes_session_id"))

    op.drop_table("oidc_authorization_codes")
    op.drop_table("oidc_subjects")
    with op.batch_alter_table("oidc_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_oidc_consents_user_id"))

    op.drop_table("oidc_consents")
    op.drop_table("oidc_authorization_requests")
    op.drop_table("oidc_signing_keys")
    op.drop_table("oidc_clients")
