"""Sessions: start, find by token, end, and the reauthentication window."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from mamori.accounts.credentials import credential_stamp, end_open_logins
from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.core.clock import Clock
from mamori.core.crypto import new_token, token_digest
from mamori.core.db import is_read_only, writing_engine
from mamori.core.errors import ReauthenticationRequired
from mamori.sessions.errors import SessionNotFound
from mamori.sessions.models import LoginSession
from mamori.settings import Settings

# Writing last_seen_at on every request would turn each read into a write.
LAST_SEEN_GRANULARITY = timedelta(minutes=1)
# What secrets.token_urlsafe(12) gives; anything else (NUL bytes, 10 kB) is not looked up.
PUBLIC_ID = re.compile(r"[A-Za-z0-9_-]{1,32}")


@dataclass(frozen=True)
class NewSession:
    session: LoginSession
    token: str


def start_session(
    db: Session,
    clock: Clock,
    settings: Settings,
    origin: Origin,
    user_id: int,
    kind: str,
    amr: str = "pwd",
    device_digest: str | None = None,
) -> NewSession:
    """A fresh token after every authentication step; the session counts as just reauthenticated.

    `amr`: how the login was proven, as RFC 8176 values ("pwd", "pwd otp mfa").
    `device_digest`: the device, when known now (written with the row, not after it)."""
    now = clock.now()
    token = new_token()
    user = db.get(User, user_id)
    assert user is not None
    session = LoginSession(
        public_id=secrets.token_urlsafe(12),
        token_digest=token_digest(token),
        user_id=user_id,
        kind=kind,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(minutes=settings.session_absolute_minutes),
        reauthenticated_at=now,
        reauthenticated_stamp=credential_stamp(user),
        ip=origin.ip,
        user_agent=(origin.user_agent or "")[:256] or None,
        amr=amr,
        device_digest=device_digest,
    )
    db.add(session)
    db.flush()
    return NewSession(session, token)


def is_active(session: LoginSession, now: datetime, settings: Settings) -> bool:
    idle_limit = session.last_seen_at + timedelta(minutes=settings.session_idle_minutes)
    return session.ended_at is None and now < session.expires_at and now < idle_limit


def find_session(
    db: Session, clock: Clock, settings: Settings, token: str, origin: Origin | None = None
) -> LoginSession | None:
    """The live session a token belongs to, or None (expired, ended or unknown)."""
    if not token or len(token) > 128:
        return None
    # One indexed read: the session and its person together.
    session = db.scalar(
        select(LoginSession)
        .where(LoginSession.token_digest == token_digest(token))
        .options(joinedload(LoginSession.user))
    )
    now = clock.now()
    if session is None or not is_active(session, now, settings):
        return None
    if now - session.last_seen_at >= LAST_SEEN_GRANULARITY:
        ip = origin.ip if origin is not None and origin.ip else session.ip
        if is_read_only(db):
            _mark_seen_apart(db, session, now, ip)
        else:
            session.last_seen_at = now
            session.ip = ip
    return session


def _mark_seen_apart(db: Session, session: LoginSession, now: datetime, ip: str | None) -> None:
    """last_seen from a unit of work that only reads: its own short transaction, at most
    once a minute per session (the condition makes concurrent requests write it once)."""
    with writing_engine(db).begin() as connection:
        connection.execute(
            update(LoginSession)
            .where(
                LoginSession.id == session.id,
                LoginSession.last_seen_at <= now - LAST_SEEN_GRANULARITY,
            )
            .values(last_seen_at=now, ip=ip)
        )
    set_committed_value(session, "last_seen_at", now)
    set_committed_value(session, "ip", ip)


def end_session(db: Session, clock: Clock, origin: Origin, session: LoginSession) -> None:
    if session.ended_at is None:
        session.ended_at = clock.now()
        record_event(
            db, clock, "session.ended", origin, user_id=session.user_id, session=session.public_id
        )


def end_session_by_id(
    db: Session, clock: Clock, origin: Origin, user_id: int, public_id: str
) -> None:
    """End one of the user's own sessions. Someone else's id is simply not found."""
    if not PUBLIC_ID.fullmatch(public_id):
        raise SessionNotFound()
    session = db.scalar(
        select(LoginSession).where(
            LoginSession.public_id == public_id,
            LoginSession.user_id == user_id,
            LoginSession.ended_at.is_(None),
        )
    )
    if session is None:
        raise SessionNotFound()
    session.ended_at = clock.now()
    record_event(db, clock, "session.revoked", origin, user_id=user_id, session=public_id)


def end_other_sessions(
    db: Session, clock: Clock, origin: Origin, user_id: int, keep: LoginSession | None
) -> int:
    """Ends every session of the account but `keep`, and with them every login half done
    and every "Confirm it's you" window: the one helper every "secure the account" path
    calls. `keep`'s own confirmation carries over only if it was made under the
    credentials as they are now, so never across a password change."""
    carry_over = keep is not None and keep.reauthenticated_stamp == credential_stamp(keep.user)
    query = update(LoginSession).where(
        LoginSession.user_id == user_id, LoginSession.ended_at.is_(None)
    )
    if keep is not None:
        query = query.where(LoginSession.id != keep.id)
    ended = db.execute(query.values(ended_at=clock.now())).rowcount  # type: ignore[attr-defined]
    end_open_logins(db, user_id)
    if carry_over:
        assert keep is not None
        keep.reauthenticated_stamp = credential_stamp(keep.user)
    if ended:
        record_event(db, clock, "session.revoked_others", origin, user_id=user_id, count=ended)
    return int(ended)


def active_sessions(
    db: Session, clock: Clock, settings: Settings, user_id: int
) -> list[LoginSession]:
    now = clock.now()
    query = (
        select(LoginSession)
        .where(LoginSession.user_id == user_id, LoginSession.ended_at.is_(None))
        .order_by(LoginSession.last_seen_at.desc())
    )
    return [s for s in db.scalars(query) if is_active(s, now, settings)]


def mark_reauthenticated(clock: Clock, session: LoginSession) -> None:
    session.reauthenticated_at = clock.now()
    session.reauthenticated_stamp = credential_stamp(session.user)


def has_recent_reauthentication(clock: Clock, settings: Settings, session: LoginSession) -> bool:
    """Confirmed within the window, under the account's credentials as they are now."""
    window = timedelta(minutes=settings.reauthentication_minutes)
    return (
        session.reauthenticated_at is not None
        and clock.now() - session.reauthenticated_at <= window
        and session.reauthenticated_stamp == credential_stamp(session.user)
    )


def require_recent_reauthentication(
    clock: Clock, settings: Settings, session: LoginSession
) -> None:
    if not has_recent_reauthentication(clock, settings, session):
        raise ReauthenticationRequired()
