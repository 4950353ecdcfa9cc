"""What the provider no longer needs is deleted: authorization requests and unused codes
a day after they expired, tokens a day after they expired (a refresh token lives as long
as its session, so reuse detection keeps what it needs)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import delete

from mamori.context import Context
from mamori.oidc.models import AuthorizationCode, AuthorizationRequest, OidcToken

KEPT_AFTER_EXPIRY = timedelta(days=1)


def forget_expired(ctx: Context) -> int:
    """Returns how many rows went."""
    before = ctx.clock.now() - KEPT_AFTER_EXPIRY
    gone = 0
    with ctx.database.session() as db:
        for statement in (
            delete(AuthorizationRequest).where(AuthorizationRequest.expires_at < before),
            delete(OidcToken).where(OidcToken.expires_at < before),
            delete(AuthorizationCode).where(
                AuthorizationCode.expires_at < before, AuthorizationCode.used_at.is_(None)
            ),
        ):
            gone += int(db.execute(statement).rowcount)  # type: ignore[attr-defined]
    return gone
