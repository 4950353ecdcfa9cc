"""The security center: new-device alerts, the alerts list (read from the audit log),
"This wasn't me", the forced password change it leads to, the password's rating,
"Emails from mamori" and the review mark. The checkup is security_checkup/."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import check_new_password, get_user, minimum_password_length
from mamori.audit.models import AuditEvent
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import token_digest
from mamori.core.i18n import translator
from mamori.notifications import links
from mamori.notifications.models import OutboxMessage
from mamori.notifications.service import alert_user
from mamori.passkeys.service import remove_passkeys_since
from mamori.security.errors import (
    LinkAlreadyUsed,
    LinkNotValid,
    PasswordChangeNotRequired,
    SamePassword,
)
from mamori.security.models import DisownedEvent, SecurityState
from mamori.security.ratings import rate_password, state_for_update
from mamori.sessions.devices import describe_device, parse_device
from mamori.sessions.models import LoginSession
from mamori.sessions.reauthentication import session_and_user
from mamori.sessions.service import end_other_sessions
from mamori.two_factor.service import is_two_factor_on

SECURITY_PAGE = "/accounts/center/password-and-security"
REVIEW_PAGE = "/accounts/center/security-review"
NEW_PASSWORD_PAGE = "/accounts/new-password"  # noqa: S105 (a path)
EMAILS_DAYS = 14
ACTIVITY_DAYS = 30


# --- what the security center remembers ------------------------------------------------


def security_state(db: Session, user_id: int) -> SecurityState | None:
    return db.get(SecurityState, user_id)


# --- devices and the new-device alert ---------------------------------------------------


def device_digest(ctx: Context, user_id: int, device_secret: str | None, origin: Origin) -> str:
    """A browser is its device cookie; an API client, which keeps no cookie, is its
    browser and system family ("okhttp on Android"). Keyed per account, so the digest
    links no two accounts and a dump reveals no cookie."""
    if device_secret:
        return ctx.keyring.keyed_digest("device", str(user_id), "cookie", device_secret)
    family = parse_device(origin.user_agent).family
    return ctx.keyring.keyed_digest("device", str(user_id), "client", family)


TRUST_DAYS = 30


def trusted_lane(
    db: Session, ctx: Context, user: User | None, origin: Origin, device_secret: str | None
) -> str | None:
    """Where this attempt's failures are counted apart (OWASP's device cookies): a browser
    whose device cookie, or for an API client (no cookie) the IP, completed a login to
    `user` in the last 30 days and since the password was last set. None: untrusted,
    counted with everyone else. The lookup runs for an unknown account too (user id 0),
    so it costs the same time either way."""
    user_id = user.id if user else 0
    since = ctx.clock.now() - timedelta(days=TRUST_DAYS)
    if user is not None and user.password_changed_at > since:
        since = user.password_changed_at
    if device_secret:
        digest = device_digest(ctx, user_id, device_secret, origin)
        same = LoginSession.device_digest == digest
    elif origin.ip:
        digest = ctx.keyring.keyed_digest("trusted-ip", str(user_id), origin.ip)
        same = LoginSession.ip == origin.ip
    else:
        return None
    found = db.scalar(
        select(LoginSession.id)
        .where(LoginSession.user_id == user_id, same, LoginSession.created_at >= since)
        .limit(1)
    )
    return digest[:24] if found is not None and user is not None else None


def _is_new_device(db: Session, user: User, session: LoginSession, digest: str) -> bool:
    """New when the account has logged in before and has known devices, none of them
    this one. The first login after sign-up is never new (wherever the sign-up was), and
    neither is the first login after mamori learnt devices (older sessions have none)."""
    earlier = select(LoginSession.device_digest).where(
        LoginSession.user_id == user.id,
        LoginSession.id != session.id,
        LoginSession.device_digest.is_not(None),
    )
    seen = set(db.scalars(earlier))
    if not seen or digest in seen:
        return False
    logins = select(func.count()).where(
        AuditEvent.user_id == user.id, AuditEvent.event == "login.succeeded"
    )
    # This login's own event is already written: more than one means an earlier login.
    return int(db.scalar(logins) or 0) > 1


def secure_new_session(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    session: LoginSession,
    device_secret: str | None,
) -> None:
    """After every successful login: remember the device, alert on a new one, and hold
    the session to "set a new password" when the account was secured."""
    digest = device_digest(ctx, user.id, device_secret, origin)
    new_device = _is_new_device(db, user, session, digest)
    session.device_digest = digest
    if new_device:
        device = describe_device(origin.user_agent)
        record_event(
            db,
            ctx.clock,
            "login.new_device",
            origin,
            user_id=user.id,
            device=device,
            session=session.public_id,
        )
        alert_user(
            db,
            ctx,
            user,
            "New login from a device we don't recognise",
            "Your account %(username)s was logged into from a new device: %(device)s, "
            "IP address %(ip)s.",
            username=user.username,
            device=describe_device(origin.user_agent, translator(user.locale)),
            ip=origin.ip or "?",
        )
    if password_change_required(db, user):
        session.must_change_password = True


# --- security alerts: the audit log, read for the user ----------------------------------

ALERT_TITLES = {
    "password.changed": "Your password was changed",
    "two_factor.turned_on": "Two-factor authentication was turned on",
    "two_factor.turned_off": "Two-factor authentication was turned off",
    "two_factor.method_added": "A two-factor method was added",
    "two_factor.method_removed": "A two-factor method was removed",
    "backup_codes.used": "A backup code was used",
    "backup_codes.viewed": "Your backup codes were viewed",
    "backup_codes.regenerated": "You got new backup codes",
    "login.new_device": "New login from a device we don't recognise",
    "passkey.added": "A passkey was added",
    "passkey.renamed": "A passkey was renamed",
    "passkey.removed": "A passkey was removed",
    "passkey.sign_count_backwards": "A passkey may have been copied",
    "login.throttled": "Someone is trying to log in to your account",
    "recovery.started": "Account recovery was started",
    "recovery.completed": "Your account was recovered",
    "recovery.cancelled": "Account recovery was cancelled",
    "security.wasnt_me": "You said \u201cThis wasn't me\u201d: your account was secured",
    "contact.email_confirmed": "Your e-mail address was confirmed",
    "contact.email_changed": "Your e-mail address was changed",
    "contact.email_removed": "Your e-mail address was removed",
    "contact.email_change_requested": "A new e-mail address was added, waiting for its code",
    "contact.phone_confirmed": "Your phone number was confirmed",
    "contact.phone_changed": "Your phone number was changed",
    "contact.phone_removed": "Your phone number was removed",
    "contact.phone_change_requested": "A new phone number was added, waiting for its code",
    "trusted_contacts.chosen": "You chose trusted contacts",
    "trusted_contacts.removed": "A trusted contact was removed",
    "trusted_contacts.declined": "A trusted contact declined",
    "trusted_contacts.asked": "Your trusted contacts were asked to help you log in",
    "trusted_contacts.vouched": "A trusted contact vouched for you",
    "recovery.holding": "Account recovery is waiting 72 hours before it turns two-factor off",
    # Listed whether or not an e-mail went out (one a day): an owner with only a phone
    # has no other way to hear of it.
    "account.address_claim_attempted": "Someone typed your e-mail or phone number at sign-up",
}
# Families whose every event is worth knowing; names not listed above get these titles.
ALERT_FAMILIES = {
    "recovery.": "Account recovery activity",
    "contact.": "Your contact details were changed",
    "trusted_contacts.": "Trusted contacts activity",
}


def alert_title(event: str) -> str:
    """The catalog message that names an alert."""
    if event in ALERT_TITLES:
        return ALERT_TITLES[event]
    family = next(
        (title for prefix, title in ALERT_FAMILIES.items() if event.startswith(prefix)), None
    )
    return family or event


def security_alerts(db: Session, user_id: int, limit: int = 100) -> list[AuditEvent]:
    """The user's security events worth knowing, newest first."""
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.user_id == user_id,
            or_(
                AuditEvent.event.in_(ALERT_TITLES),
                *(AuditEvent.event.startswith(prefix) for prefix in ALERT_FAMILIES),
            ),
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))


def wasnt_me_path(ctx: Context, user_id: int, event_id: int) -> str:
    return f"{links.PATH}/{links.wasnt_me_token(ctx.keyring, user_id, event_id, ctx.clock.now())}"


# --- login activity -----------------------------------------------------------------

LOGIN_EVENTS = ("login.succeeded", "login.password_failed", "login.second_factor_failed")


def login_activity(db: Session, ctx: Context, user_id: int, limit: int = 100) -> list[AuditEvent]:
    """Logins and failed attempts on the account in the last 30 days, newest first.

    A failed password counts only when the login named this account (an unknown login
    has no user id), so a typo of someone else's name never shows here."""
    since = ctx.clock.now() - timedelta(days=ACTIVITY_DAYS)
    query = (
        select(AuditEvent)
        .where(
            AuditEvent.user_id == user_id,
            AuditEvent.event.in_(LOGIN_EVENTS),
            AuditEvent.at >= since,
        )
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))


# --- "This wasn't me" -------------------------------------------------------------------


def read_wasnt_me_link(
    db: Session, ctx: Context, token: str
) -> tuple[User, AuditEvent, links.LinkClaim]:
    """The account and event a genuine, unexpired link names; LinkNotValid otherwise."""
    claim = links.parse_token(token)
    if claim is None:
        raise LinkNotValid()
    event = db.get(AuditEvent, claim.event_id)
    if event is None or event.user_id is None:
        raise LinkNotValid()
    if not links.is_genuine(ctx.keyring, claim, event.user_id):
        raise LinkNotValid()
    if links.has_expired(claim, ctx.clock.now()):
        raise LinkNotValid()
    user = get_user(db, event.user_id)
    if user is None:
        raise LinkNotValid()
    if _link_used(db, claim):
        raise LinkAlreadyUsed()
    return user, event, claim


def _link_used(db: Session, claim: links.LinkClaim) -> bool:
    digest = token_digest(claim.mac)
    return (
        db.scalar(select(DisownedEvent.id).where(DisownedEvent.link_digest == digest)) is not None
    )


def _claim_link(db: Session, ctx: Context, user: User, claim: links.LinkClaim) -> bool:
    """Single use: the unique digest lets exactly one of two racing requests insert."""
    row = DisownedEvent(
        user_id=user.id,
        link_digest=token_digest(claim.mac),
        event_id=claim.event_id,
        confirmed_at=ctx.clock.now(),
    )
    try:
        with db.begin_nested():
            db.add(row)
    except IntegrityError:
        return False
    return True


def disown(db: Session, ctx: Context, origin: Origin, token: str) -> User:
    """ "This wasn't me", confirmed: every session ends (this one too), open logins are
    dropped, and the next login must set a new password. Audited and alerted."""
    user, event, claim = read_wasnt_me_link(db, ctx, token)
    if not _claim_link(db, ctx, user, claim):
        raise LinkAlreadyUsed()
    now = ctx.clock.now()
    # Open logins end with the sessions (credential stamps, see accounts/credentials.py).
    ended = end_other_sessions(db, ctx.clock, origin, user.id, keep=None)
    named = event.details.get("passkey") if isinstance(event.details, dict) else None
    removed = remove_passkeys_since(db, user.id, event.at, str(named) if named else None)
    state_for_update(db, user.id).password_change_required_at = now
    record_event(
        db,
        ctx.clock,
        "security.wasnt_me",
        origin,
        user_id=user.id,
        disowned_event=event.event,
        disowned_event_id=event.id,
        sessions_ended=ended,
        passkeys_removed=removed,
    )
    alert_user(
        db,
        ctx,
        user,
        "Your account was secured",
        "You said a recent event on your account %(username)s wasn't you. Every session "
        "was logged out, and a new password must be set at the next login.",
        username=user.username,
    )
    return user


def password_change_required(db: Session, user: User) -> bool:
    """Since "This wasn't me", until the password changes. Any change counts (a recovery
    reset too), so no other feature needs to know about the hold."""
    state = security_state(db, user.id)
    required = state.password_change_required_at if state else None
    return required is not None and user.password_changed_at <= required


def set_required_password(
    db: Session, ctx: Context, origin: Origin, session_id: int, new_password: str
) -> None:
    """The one thing a session held by "This wasn't me" may do. Lifts the hold on this
    session and ends any other."""
    session, user = session_and_user(db, session_id)
    state = security_state(db, user.id)
    if state is None or not password_change_required(db, user):
        raise PasswordChangeNotRequired()
    check_new_password(
        ctx.settings,
        new_password,
        user.username,
        user.email.split("@")[0] if user.email else None,
        min_length=minimum_password_length(
            ctx.settings, two_factor_on=is_two_factor_on(db, user.id)
        ),
    )
    if ctx.hasher.verify(user.password_hash, new_password):
        raise SamePassword()
    user.password_hash = ctx.hasher.hash(new_password)
    user.password_changed_at = ctx.clock.now()
    state.password_change_required_at = None
    session.must_change_password = False
    rate_password(db, ctx, user, new_password)
    record_event(db, ctx.clock, "password.changed", origin, user_id=user.id, reason="wasnt_me")
    end_other_sessions(db, ctx.clock, origin, user.id, session)
    alert_user(
        db,
        ctx,
        user,
        "Your password was changed",
        "The password of your account %(username)s was changed.",
        username=user.username,
    )


# --- review and "Emails from mamori" --------------------------------------------------


def mark_reviewed(db: Session, ctx: Context, origin: Origin, user_id: int) -> datetime:
    now = ctx.clock.now()
    state_for_update(db, user_id).reviewed_at = now
    record_event(db, ctx.clock, "security.reviewed", origin, user_id=user_id)
    return now


def recent_messages(
    db: Session, ctx: Context, user_id: int, limit: int = 200
) -> list[OutboxMessage]:
    """What mamori sent this user in the last 14 days, newest first: only theirs."""
    since = ctx.clock.now() - timedelta(days=EMAILS_DAYS)
    query = (
        select(OutboxMessage)
        .where(OutboxMessage.user_id == user_id, OutboxMessage.created_at >= since)
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))
