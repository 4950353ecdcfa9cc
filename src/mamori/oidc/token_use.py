"""What an app does with a token it holds: userinfo, revocation (RFC 7009) and
introspection (RFC 7662). A token counts only while it stands: not expired, revoked or
spent, its mamori session live, its app enabled and still allowed by the person."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import token_digest
from mamori.oidc.errors import refused
from mamori.oidc.keys import verification_keys
from mamori.oidc.models import OidcClient, OidcToken
from mamori.oidc.tokens import (
    ACCESS,
    ACCESS_TOKEN_TYPE,
    REFRESH,
    claims_for_scope,
    consent_removed,
    live_session,
    revoke_family,
    session_id_claim,
    subject_of,
    timestamp,
)
from mamori.sessions.models import LoginSession


@dataclass(frozen=True)
class LiveToken:
    row: OidcToken
    claims: dict[str, Any]
    session: LoginSession
    client: OidcClient


def _decode_access_token(db: Session, ctx: Context, token: str) -> dict[str, Any] | None:
    if not token or len(token) > 4096:
        return None
    try:
        decoded = jwt.decode(token, verification_keys(db, ctx), algorithms=["ES256", "RS256"])
    except (JoseError, ValueError):
        return None
    if decoded.header.get("typ") != ACCESS_TOKEN_TYPE:
        return None  # an ID token is not an access token
    claims = dict(decoded.claims)
    now = timestamp(ctx.clock.now())
    if claims.get("iss") != ctx.settings.base_url or int(claims.get("exp", 0)) <= now:
        return None
    return claims


def audience_of_id_token(db: Session, ctx: Context, id_token: str) -> str | None:
    """The app an ID token mamori signed was for; expired is fine (a logout hint)."""
    if len(id_token) > 8192:
        return None
    try:
        decoded = jwt.decode(id_token, verification_keys(db, ctx), algorithms=["ES256", "RS256"])
    except (JoseError, ValueError):
        return None
    audience = decoded.claims.get("aud")
    if decoded.claims.get("iss") != ctx.settings.base_url or not isinstance(audience, str):
        return None
    return audience


def find_live_token(db: Session, ctx: Context, token: str) -> LiveToken | None:
    """An access token (JWT) or refresh token that still stands: not expired, revoked
    or spent, its session live, its app enabled and still allowed."""
    claims = _decode_access_token(db, ctx, token) if token.count(".") == 2 else None
    if claims is not None:
        row = db.scalar(
            select(OidcToken).where(
                OidcToken.lookup == str(claims.get("jti")), OidcToken.kind == ACCESS
            )
        )
    elif token and len(token) <= 128:
        row = db.scalar(
            select(OidcToken).where(
                OidcToken.lookup == token_digest(token), OidcToken.kind == REFRESH
            )
        )
        claims = {}
    else:
        return None
    if row is None or row.revoked_at is not None or row.used_at is not None:
        return None
    if row.expires_at <= ctx.clock.now():
        return None
    client = db.get(OidcClient, row.client_pk)
    session = live_session(db, ctx, row.session_id)
    if client is None or client.disabled_at is not None or session is None:
        return None
    if consent_removed(db, client, row.user_id):
        return None
    return LiveToken(row, claims, session, client)


def userinfo(db: Session, ctx: Context, access_token: str) -> dict[str, Any]:
    live = find_live_token(db, ctx, access_token)
    if live is None or live.row.kind != ACCESS:
        raise refused("invalid_token", "The access token is not valid", 401)
    user = live.session.user
    return {"sub": subject_of(db, user.id), **claims_for_scope(user, live.row.scope)}


def revoke(db: Session, ctx: Context, origin: Origin, client: OidcClient, token: str) -> None:
    """RFC 7009: the app's own token and, with it, everything from the same code. An
    unknown or someone else's token is answered the same (200), and changes nothing."""
    live = find_live_token(db, ctx, token)
    if live is None or live.client.id != client.id:
        return
    revoked = revoke_family(db, ctx, live.row.family)
    record_event(
        db,
        ctx.clock,
        "oidc.tokens_revoked",
        origin,
        user_id=live.row.user_id,
        client=client.client_id,
        revoked=revoked,
        by="app",
    )


def introspect(db: Session, ctx: Context, client: OidcClient, token: str) -> dict[str, Any]:
    """RFC 7662 for the app's backend: only its own tokens are described."""
    live = find_live_token(db, ctx, token)
    if live is None or live.client.id != client.id:
        return {"active": False}
    row = live.row
    return {
        "active": True,
        "token_type": "access_token" if row.kind == ACCESS else "refresh_token",
        "client_id": client.client_id,
        "sub": subject_of(db, row.user_id),
        "scope": row.scope,
        "iss": ctx.settings.base_url,
        "exp": timestamp(row.expires_at),
        "iat": timestamp(row.created_at),
        "sid": session_id_claim(ctx, live.session),
        "username": live.session.user.username,
        **({"aud": client.client_id, "jti": row.lookup} if row.kind == ACCESS else {}),
    }
