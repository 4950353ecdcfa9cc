"""OpenID Back-Channel Logout 1.0: each app that let a person in through a mamori session
is told, server to server, when that session ends.

Sessions end in many places (logout, "Log out of all other sessions", a password change,
a recovery, "This wasn't me", an operator's disable), none of which needs to know about
apps: before each round the delivery worker looks for ended sessions whose apps have not
been told, records that they are being told (once, by a unique row), revokes the tokens
those apps hold, and queues a logout token to each app's `backchannel_logout_uri`. The
outbox delivers it like any message: retried, and audited when given up.

When one session ended, the token names it (`sid`). When every session of the person
ended (the account's credentials moved on since the code was issued and no session lived
on: a recovery, "This wasn't me"; or the account was disabled) it carries `sub` without
`sid`: "log out all of this person's sessions". "Log out of all other sessions" and a
password change keep the device they were made on, so each other session is named by
its `sid` and the apps on that device stay logged in."""

from __future__ import annotations

import secrets
from datetime import timedelta

from joserfc import jwt
from sqlalchemy import and_, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.notifications.channels import BACKCHANNEL_LOGOUT
from mamori.notifications.service import queue_for_app
from mamori.oidc.keys import signing_key
from mamori.oidc.models import AuthorizationCode, BackchannelLogout, OidcClient, OidcToken
from mamori.oidc.tokens import session_id_claim, subject_of
from mamori.sessions.models import LoginSession

EVENT = "http://schemas.openid.net/event/backchannel-logout"
LOGOUT_TOKEN_TYPE = "logout+jwt"  # noqa: S105 (the JWT typ, not a secret)
LOGOUT_TOKEN_LIFE = timedelta(minutes=2)
WORKER = Origin(user_agent="mamori delivery worker")


def queue_backchannel_logouts(ctx: Context, limit: int = 100) -> int:
    """Tell apps of ended sessions; returns how many logout tokens were queued."""
    with ctx.database.session() as db:
        pending = db.execute(
            select(
                AuthorizationCode.session_id,
                AuthorizationCode.client_pk,
                func.min(AuthorizationCode.credential_generation),
            )
            .join(LoginSession, LoginSession.id == AuthorizationCode.session_id)
            .join(User, User.id == AuthorizationCode.user_id)
            .join(OidcClient, OidcClient.id == AuthorizationCode.client_pk)
            .where(
                AuthorizationCode.used_at.is_not(None),
                OidcClient.backchannel_logout_uri.is_not(None),
                or_(LoginSession.ended_at.is_not(None), User.disabled_at.is_not(None)),
                ~exists().where(
                    and_(
                        BackchannelLogout.session_id == AuthorizationCode.session_id,
                        BackchannelLogout.client_pk == AuthorizationCode.client_pk,
                    )
                ),
            )
            .group_by(AuthorizationCode.session_id, AuthorizationCode.client_pk)
            .limit(limit)
        ).all()
        queued = 0
        for session_id, client_pk, generation in pending:
            queued += _tell_app(db, ctx, session_id, client_pk, generation)
        return queued


def _tell_app(db: Session, ctx: Context, session_id: int, client_pk: int, generation: int) -> int:
    try:
        with db.begin_nested():
            db.add(
                BackchannelLogout(
                    session_id=session_id, client_pk=client_pk, queued_at=ctx.clock.now()
                )
            )
    except IntegrityError:
        return 0  # another worker is telling this app
    session = db.get(LoginSession, session_id)
    client = db.get(OidcClient, client_pk)
    assert session is not None and client is not None and client.backchannel_logout_uri
    user = session.user
    everyone = user.disabled_at is not None or (
        user.credential_generation > generation and not _a_session_was_kept(db, session)
    )
    db.execute(
        update(OidcToken)
        .where(
            OidcToken.session_id == session_id,
            OidcToken.client_pk == client_pk,
            OidcToken.revoked_at.is_(None),
        )
        .values(revoked_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    )
    token = logout_token(db, ctx, client, user.id, None if everyone else session)
    _queue(db, ctx, client, user.id, token, WORKER, everyone=everyone)
    return 1


def _a_session_was_kept(db: Session, ended: LoginSession) -> bool:
    """Did one of the person's sessions live on past the moment `ended` ended? "Log out of
    all other sessions" and a password change keep the device they were made on: its apps
    must not hear "every session" (`sub` alone), only of each session that ended. A login
    made afterwards (after a recovery, say) does not count."""
    assert ended.ended_at is not None
    kept = db.scalar(
        select(LoginSession.id)
        .where(
            LoginSession.user_id == ended.user_id,
            LoginSession.ended_at.is_(None),
            LoginSession.created_at <= ended.ended_at,
        )
        .limit(1)
    )
    return kept is not None


def tell_app_it_was_removed(
    db: Session, ctx: Context, origin: Origin, client: OidcClient, user_id: int
) -> None:
    """The person removed the app in Accounts Center: its tokens are revoked already, and
    the app is told to end every session it holds for them (`sub`, no `sid`), so a
    signed-in tab does not live on until its own session times out."""
    if client.backchannel_logout_uri is None:
        return
    token = logout_token(db, ctx, client, user_id, None)
    _queue(db, ctx, client, user_id, token, origin, everyone=True)


def _queue(
    db: Session,
    ctx: Context,
    client: OidcClient,
    user_id: int,
    token: str,
    origin: Origin,
    *,
    everyone: bool,
) -> None:
    assert client.backchannel_logout_uri
    queue_for_app(
        db,
        ctx,
        channel=BACKCHANNEL_LOGOUT,
        to=client.backchannel_logout_uri,
        subject=f"Back-channel logout: {client.name}"[:200],
        body=token,
        kind="oidc.backchannel_logout",
    )
    record_event(
        db,
        ctx.clock,
        "oidc.backchannel_logout_queued",
        origin,
        user_id=user_id,
        client=client.client_id,
        logs_out="every_session" if everyone else "one_session",
    )


def logout_token(
    db: Session, ctx: Context, client: OidcClient, user_id: int, session: LoginSession | None
) -> str:
    """Back-Channel Logout 1.0 §2.4: a signed JWT with the logout event, never a nonce.
    With a session it names that one (`sid`); without, every session of the person."""
    now = ctx.clock.now()
    claims: dict[str, object] = {
        "iss": ctx.settings.base_url,
        "aud": client.client_id,
        "iat": int(now.timestamp()),
        "exp": int((now + LOGOUT_TOKEN_LIFE).timestamp()),
        "jti": secrets.token_urlsafe(24),
        "events": {EVENT: {}},
        "sub": subject_of(db, user_id),
    }
    if session is not None:
        claims["sid"] = session_id_claim(ctx, session)
    alg, key = signing_key(db, ctx)
    return jwt.encode({"alg": alg, "kid": key.kid, "typ": LOGOUT_TOKEN_TYPE}, claims, key)
