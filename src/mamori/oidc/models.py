"""OpenID Connect: the apps (clients), the person's subject, consents, codes, tokens, keys.

No secret is kept as it was given out: client secrets, authorization codes and refresh
tokens are stored as SHA-256 digests (each carries 256 bits), signing keys sealed.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from mamori.core.db import Base, UTCDateTime


class OidcClient(Base):
    """An app registered by the operator (`mamori clients create`)."""

    __tablename__ = "oidc_clients"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    # None for a public client (a mobile app, a single-page app): it has no secret.
    secret_digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # One URI per line, matched exactly.
    redirect_uris: Mapped[str] = mapped_column(Text)
    first_party: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    backchannel_logout_uri: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    secret_rotated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    disabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)

    @property
    def public(self) -> bool:
        return self.secret_digest is None

    @property
    def redirect_uri_list(self) -> list[str]:
        return [uri for uri in self.redirect_uris.split("\n") if uri]


class OidcSubject(Base):
    """The person as apps know them: a stable random `sub`, never the database id."""

    __tablename__ = "oidc_subjects"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(64), unique=True)


class OidcConsent(Base):
    """What the person let an app see ("Apps and websites"); ended by "Remove"."""

    __tablename__ = "oidc_consents"
    __table_args__ = (UniqueConstraint("user_id", "client_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(200))
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuthorizationRequest(Base):
    """An app's request waiting for the person to log in or answer the consent page."""

    __tablename__ = "oidc_authorization_requests"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    # The validated parameters (redirect_uri, scope, state, nonce, PKCE, prompt…), as JSON.
    parameters: Mapped[str] = mapped_column(Text)
    # The browser's session when the app asked (None: not logged in): `prompt=login` and
    # `max_age` are met only by a login made after that.
    session_at_request: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class AuthorizationCode(Base):
    """A code handed to the app's redirect URI: 60 seconds, used once."""

    __tablename__ = "oidc_authorization_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code_digest: Mapped[str] = mapped_column(String(64), unique=True)
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    scope: Mapped[str] = mapped_column(String(200))
    nonce: Mapped[str | None] = mapped_column(String(512), nullable=True)
    code_challenge: Mapped[str] = mapped_column(String(128))
    # The account's credential generation when the code was issued: if it has moved on
    # when the session ends (password change, recovery, "This wasn't me", disable), every
    # session of the person ended, and the back-channel logout names the person (`sub`).
    credential_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class OidcToken(Base):
    """A refresh token (opaque, a digest here) or an access token (a JWT, its `jti` here).

    Every token issued from one code shares its `family` (the code's id): a reused code or
    refresh token revokes the whole family at once."""

    __tablename__ = "oidc_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))  # "refresh" or "access"
    # SHA-256 of the refresh token, or the access token's jti.
    lookup: Mapped[str] = mapped_column(String(64), unique=True)
    family: Mapped[int] = mapped_column(
        ForeignKey("oidc_authorization_codes.id", ondelete="CASCADE"), index=True
    )
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("login_sessions.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # A refresh token is used once: rotated into a new one.
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class SigningKey(Base):
    """A key that signs ID and access tokens. `next` is published before it signs;
    `retired` stays published until the tokens it signed have expired."""

    __tablename__ = "oidc_signing_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kid: Mapped[str] = mapped_column(String(64), unique=True)
    alg: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8))  # "next", "current", "retired"
    sealed_private_key: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


class BackchannelLogout(Base):
    """A login session whose end the apps it let in have been told (or are being told)."""

    __tablename__ = "oidc_backchannel_logouts"
    __table_args__ = (UniqueConstraint("session_id", "client_pk"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("login_sessions.id", ondelete="CASCADE"))
    client_pk: Mapped[int] = mapped_column(ForeignKey("oidc_clients.id", ondelete="CASCADE"))
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime())
