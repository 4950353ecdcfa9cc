"""Accounts Center → "Apps and websites": the apps a person has let in, and "Remove"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.oidc.authorization import SCOPES
from mamori.oidc.backchannel import tell_app_it_was_removed
from mamori.oidc.errors import AppNotFound
from mamori.oidc.models import OidcClient, OidcConsent, OidcToken


@dataclass(frozen=True)
class AppLetIn:
    client_id: str
    name: str
    scopes: list[str]
    granted_at: datetime
    last_used_at: datetime | None


def apps_let_in(db: Session, user_id: int) -> list[AppLetIn]:
    """Every app the person signed in to and has not removed, the most recently used first."""
    rows = db.execute(
        select(OidcConsent, OidcClient)
        .join(OidcClient, OidcClient.id == OidcConsent.client_pk)
        .where(
            OidcConsent.user_id == user_id,
            OidcConsent.removed_at.is_(None),
            OidcClient.disabled_at.is_(None),
        )
    ).all()
    apps = [
        AppLetIn(
            client.client_id,
            client.name,
            [s for s in SCOPES if s in consent.scope.split()],
            consent.granted_at,
            consent.last_used_at,
        )
        for consent, client in rows
    ]
    return sorted(apps, key=lambda app: app.last_used_at or app.granted_at, reverse=True)


def app_let_in(db: Session, user_id: int, client_id: str) -> AppLetIn:
    for app in apps_let_in(db, user_id):
        if app.client_id == client_id:
            return app
    raise AppNotFound()


def remove_app(db: Session, ctx: Context, origin: Origin, user_id: int, client_id: str) -> None:
    """The app loses access at once: every token it holds for this person is revoked, the
    app is told by back-channel logout when it takes it, and next time it must ask again
    (a first-party app signs in without asking)."""
    app_let_in(db, user_id, client_id)
    consent, client = db.execute(
        select(OidcConsent, OidcClient)
        .join(OidcClient, OidcClient.id == OidcConsent.client_pk)
        .where(OidcConsent.user_id == user_id, OidcClient.client_id == client_id)
    ).one()
    now = ctx.clock.now()
    consent.removed_at = now
    revoked = db.execute(
        update(OidcToken)
        .where(
            OidcToken.user_id == user_id,
            OidcToken.client_pk == client.id,
            OidcToken.revoked_at.is_(None),
        )
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    record_event(
        db,
        ctx.clock,
        "oidc.tokens_revoked",
        origin,
        user_id=user_id,
        client=client.client_id,
        revoked=int(revoked),
        by="person",
    )
    tell_app_it_was_removed(db, ctx, origin, client, user_id)
