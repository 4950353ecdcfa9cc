"""The token endpoint's rules (code and refresh grants) and the tokens themselves; what an
app does with a token it holds (userinfo, revocation, introspection) is in `token_use`.

Every token is bound to the mamori login session it came from: when that session ends
(logout, password change, "This wasn't me", recovery, an operator's disable), the
refresh token no longer refreshes, introspection answers `active: false` and userinfo
refuses the access token. A JWT access token an app's backend checks on its own lives
`MAMORI_OIDC_ACCESS_TOKEN_MINUTES` at most."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from joserfc import jwt
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import new_token, token_digest
from mamori.core.errors import TooManyAttempts
from mamori.core.throttle import Policy
from mamori.notifications.service import alert_user
from mamori.oidc.authorization import acr_of, session_amr
from mamori.oidc.clients import active_client
from mamori.oidc.errors import refused
from mamori.oidc.keys import signing_key
from mamori.oidc.models import AuthorizationCode, OidcClient, OidcConsent, OidcSubject, OidcToken
from mamori.sessions.models import LoginSession
from mamori.sessions.service import is_active

REFRESH, ACCESS = "refresh", "access"
VERIFIER_LENGTH = range(43, 129)
ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 (RFC 9068 typ)


def token_policy(ctx: Context) -> Policy:
    return Policy(
        name="oidc-token",
        window=timedelta(minutes=1),
        free=ctx.settings.oidc_token_requests_per_client_minute,
        max_delay=timedelta(minutes=1),
    )


def throttle_token_requests(db: Session, ctx: Context, client_id: str) -> None:
    """Every token request of one app counts, answered or not: a burst waits. (Counted
    before its secret is checked; an unknown client_id gets no counter.)"""
    if active_client(db, client_id) is None:
        return
    try:
        ctx.throttle.reserve(db, token_policy(ctx), client_id)
    except TooManyAttempts as error:
        raise refused(
            "slow_down", f"Too many token requests; wait {error.retry_after_seconds} s", 429
        ) from error


def subject_of(db: Session, user_id: int) -> str:
    """The person's `sub`: random, made the first time an app signs them in, never changed."""
    found = db.scalar(select(OidcSubject.subject).where(OidcSubject.user_id == user_id))
    if found is not None:
        return found
    try:
        with db.begin_nested():
            db.add(OidcSubject(user_id=user_id, subject=secrets.token_urlsafe(24)))
    except IntegrityError:
        pass  # another request made it first: use theirs
    return str(db.scalar(select(OidcSubject.subject).where(OidcSubject.user_id == user_id)))


def session_id_claim(ctx: Context, session: LoginSession) -> str:
    """`sid`: names the login session to apps without being the id people revoke it by."""
    return ctx.keyring.keyed_digest("oidc-sid", session.public_id)[:32]


def claims_for_scope(user: User, scope: str) -> dict[str, Any]:
    scopes = scope.split()
    claims: dict[str, Any] = {}
    if "profile" in scopes:
        claims["preferred_username"] = user.username
        claims["locale"] = user.locale
        if user.time_zone:
            claims["zoneinfo"] = user.time_zone
    if "email" in scopes and user.email:
        claims["email"] = user.email
        claims["email_verified"] = user.email_confirmed_at is not None
    if "phone" in scopes and user.phone:
        claims["phone_number"] = user.phone
        claims["phone_number_verified"] = user.phone_confirmed_at is not None
    return claims


@dataclass(frozen=True)
class Issued:
    access_token: str
    id_token: str
    refresh_token: str
    expires_in: int
    scope: str

    def as_response(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "id_token": self.id_token,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
        }


def timestamp(moment: datetime) -> int:
    return int(moment.timestamp())


def _issue(
    db: Session,
    ctx: Context,
    client: OidcClient,
    session: LoginSession,
    family: int,
    scope: str,
    nonce: str | None,
) -> Issued:
    now = ctx.clock.now()
    settings = ctx.settings
    user = session.user
    sub = subject_of(db, user.id)
    alg, key = signing_key(db, ctx)
    common = {
        "iss": settings.base_url,
        "sub": sub,
        "iat": timestamp(now),
        "auth_time": timestamp(session.created_at),
        "acr": acr_of(session),
        "amr": session_amr(session),
        "sid": session_id_claim(ctx, session),
    }
    access_life = timedelta(minutes=settings.oidc_access_token_minutes)
    jti = secrets.token_urlsafe(24)
    access_claims = {
        **common,
        "aud": client.client_id,
        "client_id": client.client_id,
        "exp": timestamp(now + access_life),
        "jti": jti,
        "scope": scope,
    }
    header = {"alg": alg, "kid": key.kid, "typ": ACCESS_TOKEN_TYPE}
    access_token = jwt.encode(header, access_claims, key)
    id_claims = {
        **common,
        **claims_for_scope(user, scope),
        "aud": client.client_id,
        "azp": client.client_id,
        "exp": timestamp(now + timedelta(minutes=settings.oidc_id_token_minutes)),
    }
    if nonce:
        id_claims["nonce"] = nonce
    id_token = jwt.encode({"alg": alg, "kid": key.kid, "typ": "JWT"}, id_claims, key)
    refresh_token = new_token()
    for kind, lookup, expires in (
        (ACCESS, jti, now + access_life),
        (REFRESH, token_digest(refresh_token), session.expires_at),
    ):
        db.add(
            OidcToken(
                kind=kind,
                lookup=lookup,
                family=family,
                client_pk=client.id,
                user_id=user.id,
                session_id=session.id,
                scope=scope,
                created_at=now,
                expires_at=expires,
            )
        )
    db.flush()
    _touch_consent(db, ctx, client, user.id, scope)
    return Issued(access_token, id_token, refresh_token, int(access_life.total_seconds()), scope)


def _touch_consent(db: Session, ctx: Context, client: OidcClient, user_id: int, scope: str) -> None:
    """ "Apps and websites" shows when each app last used the person's sign-in. A
    first-party app is listed too, though no consent page asked."""
    now = ctx.clock.now()
    consent = db.scalar(
        select(OidcConsent).where(
            OidcConsent.user_id == user_id, OidcConsent.client_pk == client.id
        )
    )
    if consent is None:
        consent = OidcConsent(user_id=user_id, client_pk=client.id, scope=scope, granted_at=now)
        db.add(consent)
    elif client.first_party:
        if consent.removed_at is not None:
            consent.removed_at, consent.granted_at, consent.scope = None, now, ""
        consent.scope = " ".join(sorted(set(consent.scope.split()) | set(scope.split())))
    if consent.removed_at is None:
        consent.last_used_at = now
    db.flush()


def live_session(db: Session, ctx: Context, session_id: int) -> LoginSession | None:
    session = db.get(LoginSession, session_id)
    if session is None or not is_active(session, ctx.clock.now(), ctx.settings):
        return None
    if session.must_change_password or session.user.disabled_at is not None:
        return None
    return session


def consent_removed(db: Session, client: OidcClient, user_id: int) -> bool:
    if client.first_party:
        return False
    consent = db.scalar(
        select(OidcConsent).where(
            OidcConsent.user_id == user_id, OidcConsent.client_pk == client.id
        )
    )
    return consent is None or consent.removed_at is not None


def revoke_family(db: Session, ctx: Context, family: int) -> int:
    """Every token issued from one code, at once."""
    revoked = db.execute(
        update(OidcToken)
        .where(OidcToken.family == family, OidcToken.revoked_at.is_(None))
        .values(revoked_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return int(revoked)


def exchange_code(
    db: Session,
    ctx: Context,
    origin: Origin,
    client: OidcClient,
    *,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> Issued:
    """grant_type=authorization_code (RFC 6749 §4.1.3, RFC 7636 §4.6)."""
    row = None
    if code and len(code) <= 128:
        row = db.scalar(
            select(AuthorizationCode).where(AuthorizationCode.code_digest == token_digest(code))
        )
    if row is None or row.client_pk != client.id:
        raise refused("invalid_grant", "Unknown authorization code")
    if row.used_at is not None:
        _code_reused(db, ctx, origin, client, row)
    if row.expires_at <= ctx.clock.now():
        raise refused("invalid_grant", "The authorization code has expired")
    if redirect_uri != row.redirect_uri:
        raise refused("invalid_grant", "redirect_uri differs from the authorization request")
    if not code_verifier or len(code_verifier) not in VERIFIER_LENGTH:
        raise refused("invalid_grant", "code_verifier is missing or malformed")
    expected = create_s256_code_challenge(code_verifier)
    if not hmac.compare_digest(expected.encode(), row.code_challenge.encode()):
        raise refused("invalid_grant", "code_verifier does not match the code_challenge")
    used = db.execute(
        update(AuthorizationCode)
        .where(AuthorizationCode.id == row.id, AuthorizationCode.used_at.is_(None))
        .values(used_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if used != 1:
        _code_reused(db, ctx, origin, client, row)
    session = live_session(db, ctx, row.session_id)
    if session is None:
        raise refused("invalid_grant", "The person's mamori session has ended")
    issued = _issue(db, ctx, client, session, row.id, row.scope, row.nonce)
    record_event(
        db,
        ctx.clock,
        "oidc.tokens_issued",
        origin,
        user_id=row.user_id,
        client=client.client_id,
        grant="authorization_code",
    )
    return issued


def _code_reused(
    db: Session, ctx: Context, origin: Origin, client: OidcClient, row: AuthorizationCode
) -> None:
    """RFC 6749 §4.1.2: a code used twice revokes what it gave."""
    revoked = revoke_family(db, ctx, row.id)
    record_event(
        db,
        ctx.clock,
        "oidc.code_reused",
        origin,
        outcome="failure",
        user_id=row.user_id,
        client=client.client_id,
        revoked=revoked,
    )
    raise refused("invalid_grant", "The authorization code was already used")


def refresh(
    db: Session,
    ctx: Context,
    origin: Origin,
    client: OidcClient,
    *,
    refresh_token: str,
    scope: str | None,
) -> Issued:
    """grant_type=refresh_token: a new refresh token every time; the old one is spent."""
    row = None
    if refresh_token and len(refresh_token) <= 128:
        row = db.scalar(
            select(OidcToken).where(
                OidcToken.lookup == token_digest(refresh_token), OidcToken.kind == REFRESH
            )
        )
    if row is None or row.client_pk != client.id:
        raise refused("invalid_grant", "Unknown refresh token")
    if row.used_at is not None:
        _refresh_token_reused(db, ctx, origin, client, row)
    if row.revoked_at is not None or row.expires_at <= ctx.clock.now():
        raise refused("invalid_grant", "The refresh token was revoked or has expired")
    session = live_session(db, ctx, row.session_id)
    if session is None or consent_removed(db, client, row.user_id):
        raise refused("invalid_grant", "The person's sign-in to this app has ended")
    granted = row.scope.split()
    asked = scope.split() if scope else granted
    if not set(asked) <= set(granted):
        raise refused("invalid_scope", "A refresh cannot widen the scope")
    spent = db.execute(
        update(OidcToken)
        .where(OidcToken.id == row.id, OidcToken.used_at.is_(None))
        .values(used_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if spent != 1:
        _refresh_token_reused(db, ctx, origin, client, row)
    session.last_seen_at = max(session.last_seen_at, ctx.clock.now())
    scope_now = " ".join(s for s in granted if s in asked)
    issued = _issue(db, ctx, client, session, row.family, scope_now, None)
    record_event(
        db,
        ctx.clock,
        "oidc.tokens_refreshed",
        origin,
        user_id=row.user_id,
        client=client.client_id,
    )
    return issued


def _refresh_token_reused(
    db: Session, ctx: Context, origin: Origin, client: OidcClient, row: OidcToken
) -> None:
    """RFC 9700 §4.14.2: one of the two holders is not the app; revoke the whole family
    and tell the person."""
    revoked = revoke_family(db, ctx, row.family)
    record_event(
        db,
        ctx.clock,
        "oidc.refresh_token_reused",
        origin,
        outcome="failure",
        user_id=row.user_id,
        client=client.client_id,
        revoked=revoked,
    )
    user = db.get(User, row.user_id)
    if user is not None:
        alert_user(
            db,
            ctx,
            user,
            "An app's sign-in was used twice",
            "The sign-in of %(app)s to your account %(username)s was used twice, which "
            "happens when someone copied it. mamori signed that app out; log in to it "
            "again. If you did not expect this, change your password.",
            app=client.name,
            username=user.username,
        )
    raise refused("invalid_grant", "The refresh token was already used")
