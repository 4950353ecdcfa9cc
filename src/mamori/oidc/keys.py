"""Signing keys for ID and access tokens: made on first start, sealed, rotated.

There is always a `next` key, published in the JWKS before it signs anything, so that
apps that cache the JWKS already hold it when `mamori keys rotate` puts it to work. A
retired key stays published until every token it signed has expired."""

from __future__ import annotations

import secrets
from datetime import timedelta

from joserfc.jwk import ECKey, KeyParameters, KeySet, KeySetSerialization, RSAKey
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.clock import Clock
from mamori.core.crypto import Keyring
from mamori.oidc.models import SigningKey
from mamori.settings import Settings

NEXT, CURRENT, RETIRED = "next", "current", "retired"
PrivateKey = ECKey | RSAKey


def _seal_context(kid: str) -> str:
    return f"oidc-signing-key:{kid}"


def _new_key(settings: Settings, keyring: Keyring, clock: Clock, state: str) -> SigningKey:
    alg = settings.oidc_signing_alg
    kid = secrets.token_urlsafe(12)
    parameters: KeyParameters = {"kid": kid, "alg": alg, "use": "sig"}
    key: PrivateKey
    if alg == "RS256":
        key = RSAKey.generate_key(2048, parameters=parameters, private=True)
    else:
        key = ECKey.generate_key("P-256", parameters=parameters, private=True)
    pem = key.as_pem(private=True).decode()
    return SigningKey(
        kid=kid,
        alg=alg,
        state=state,
        sealed_private_key=keyring.seal(pem, _seal_context(kid)),
        created_at=clock.now(),
    )


def ensure_signing_keys(db: Session, settings: Settings, keyring: Keyring, clock: Clock) -> None:
    """On first start: a current key and the next one. Two instances starting at once
    may each add theirs; both are then published, and either signs."""
    states = set(db.scalars(select(SigningKey.state).where(SigningKey.state != RETIRED)))
    for state in (CURRENT, NEXT):
        if state not in states:
            db.add(_new_key(settings, keyring, clock, state))
    db.flush()


def _private_key(keyring: Keyring, row: SigningKey) -> PrivateKey:
    pem = keyring.unseal(row.sealed_private_key, _seal_context(row.kid))
    parameters: KeyParameters = {"kid": row.kid, "alg": row.alg, "use": "sig"}
    if row.alg == "RS256":
        return RSAKey.import_key(pem, parameters)
    return ECKey.import_key(pem, parameters)


def signing_key(db: Session, ctx: Context) -> tuple[str, PrivateKey]:
    """The algorithm and key that sign now (the newest current one)."""
    query = select(SigningKey).where(SigningKey.state == CURRENT).order_by(SigningKey.id.desc())
    row = db.scalar(query.limit(1))
    if row is None:
        ensure_signing_keys(db, ctx.settings, ctx.keyring, ctx.clock)
        row = db.scalar(query.limit(1))
        assert row is not None
    return row.alg, _private_key(ctx.keyring, row)


def _published(db: Session, ctx: Context) -> list[SigningKey]:
    now = ctx.clock.now()
    return list(
        db.scalars(
            select(SigningKey)
            .where(
                or_(
                    SigningKey.state != RETIRED,
                    SigningKey.published_until > now,
                )
            )
            .order_by(SigningKey.id)
        )
    )


def published_key_set(db: Session, ctx: Context) -> KeySetSerialization:
    """The JWKS: public halves of the next, current and recently retired keys."""
    if not db.scalar(select(SigningKey.id).limit(1)):
        ensure_signing_keys(db, ctx.settings, ctx.keyring, ctx.clock)
    keys = [_private_key(ctx.keyring, row).as_dict(private=False) for row in _published(db, ctx)]
    return {"keys": keys}


def verification_keys(db: Session, ctx: Context) -> KeySet:
    return KeySet.import_key_set(published_key_set(db, ctx))


def longest_token_life(ctx: Context) -> timedelta:
    settings = ctx.settings
    return timedelta(
        minutes=max(settings.oidc_access_token_minutes, settings.oidc_id_token_minutes)
    )


def rotate_keys(db: Session, ctx: Context, origin: Origin) -> str:
    """The next key starts signing, the current one retires (published until its tokens
    have expired), and a new next key is published. Returns the kid now signing."""
    ensure_signing_keys(db, ctx.settings, ctx.keyring, ctx.clock)
    now = ctx.clock.now()
    for row in db.scalars(select(SigningKey).where(SigningKey.state == CURRENT)):
        row.state = RETIRED
        row.published_until = now + longest_token_life(ctx)
    promoted = db.scalars(select(SigningKey).where(SigningKey.state == NEXT)).all()
    for row in promoted:
        row.state = CURRENT
    db.add(_new_key(ctx.settings, ctx.keyring, ctx.clock, NEXT))
    db.flush()
    kid = promoted[-1].kid
    record_event(db, ctx.clock, "oidc.keys_rotated", origin, kid=kid)
    return kid
