"""The person recovering asks the contacts they remember, and types the codes they give."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.audit.service import Origin, record_event
from mamori.backup_codes.service import normalize_backup_code
from mamori.context import Context
from mamori.core.db import changed_one, kept_or_undone
from mamori.core.errors import CodeAlreadyUsed, InvalidCode, TooManyAttempts
from mamori.core.throttle import Policy
from mamori.notifications.quotas import SendQuota, reserve_sends
from mamori.notifications.service import alert_user
from mamori.recovery import service as recovery
from mamori.recovery.models import RecoveryAttempt
from mamori.trusted_contacts import messages
from mamori.trusted_contacts.contacts import (
    CODE_DIGITS,
    REQUEST_PAGE,
    is_available,
    name_list,
    needed_vouches,
    page_link,
    username_key,
    username_of,
    vouch_digest,
)
from mamori.trusted_contacts.errors import ContactCodeExpired
from mamori.trusted_contacts.models import TrustedContact, TrustedContactRequest

# Names one recovery may type in one go, and how often it may ask: enough to
# misremember a few handles, too few to page through the user base.
MAX_NAMES = 10
ASKS_PER_ATTEMPT = 5
# E-mails one owner's recoveries may send one contact in a day; more requests still
# show in the contact's list, they just do not mail them again.
EMAILS_PER_CONTACT_DAY = 3


@dataclass(frozen=True)
class Vouches:
    vouches: int
    needed: int
    proven: bool
    attempts_left: int


def codes_policy(ctx: Context) -> Policy:
    # Counted, never blocking by itself: the limit is checked here, per attempt.
    return Policy(
        name="trusted-contact-codes",
        window=timedelta(hours=ctx.settings.recovery_attempt_hours),
        free=10**6,
        max_delay=timedelta(hours=1),
    )


def asks_quota(ctx: Context) -> SendQuota:
    return SendQuota(
        name="trusted-contact-asks",
        window=timedelta(hours=ctx.settings.recovery_attempt_hours),
        limit=ASKS_PER_ATTEMPT,
    )


def emails_quota() -> SendQuota:
    return SendQuota(
        name="trusted-contact-emails", window=timedelta(days=1), limit=EMAILS_PER_CONTACT_DAY
    )


def max_wrong_codes(ctx: Context) -> int:
    return 5 * needed_vouches(ctx)


def ask_trusted_contacts(
    db: Session, ctx: Context, origin: Origin, token: str, usernames: list[str]
) -> Vouches:
    """Ask every named user who is an active contact of the account for a code.

    The answer never says who was a contact, or whether the account exists; nor does its
    time: a name that is not asked goes through the same steps as one that is (request,
    alerts, all queued), in a savepoint that is then rolled back, as a withheld recovery
    code is (codes.sending._withhold)."""
    attempt = recovery.open_attempt(db, ctx, token)
    try:  # reserved atomically: a burst of asks gets only what is left
        reserve_sends(db, ctx.clock, [(asks_quota(ctx), attempt.public_id)])
    except TooManyAttempts:
        raise TooManyAttempts(_seconds_left(ctx, attempt)) from None
    owner = recovery.attempt_user(db, attempt)
    owner_id = owner.id if owner is not None else 0
    available = is_available(db, ctx, owner_id)
    stand_in = owner if owner is not None else _stand_in_user(db)
    asked: list[str] = []
    for key in dict.fromkeys(k for k in map(username_key, usernames[:MAX_NAMES]) if k):
        named, is_contact = _named(db, owner_id, key)
        real = available and owner is not None and is_contact
        # Rehearsed with the named account where there is one: a real ask works with two
        # people, and a rehearsal with one would read one account fewer.
        asker, asked_one = (owner, named) if real else (stand_in, named or stand_in)
        if asker is None or asked_one is None:
            continue  # no account exists at all: there is nobody to rehearse with
        # The e-mail quota is kept for every name, asked or not, so a name typed again and
        # again runs out of e-mails exactly as a real contact does.
        mailed = _may_email(db, ctx, _mail_key(ctx, owner_id, key))
        # A name that is not asked is rehearsed with the account standing in for the
        # contact, then undone: no one is asked or told.
        name = asked_one.username  # read before the block, which leaves it expired
        with kept_or_undone(db, keep=real):
            if _ask(db, ctx, attempt, asker, asked_one, mailed) and real:
                asked.append(name)
        _expire_alike(db)
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.asked",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        named=min(len(usernames), MAX_NAMES),
        asked=asked,
    )
    told = owner if owner is not None and asked else stand_in
    if told is not None:
        with kept_or_undone(db, keep=told is owner and bool(asked)):
            recovery.alert_everywhere(
                db,
                ctx,
                origin,
                told,
                messages.CONTACTS_ASKED,
                username=told.username,
                contacts=name_list(asked or [told.username]),
            )
        _expire_alike(db)
    return _vouches(db, ctx, attempt)


def _expire_alike(db: Session) -> None:
    """An undone block expires what it changed, so what follows would reload it and a name
    that is no contact would cost more than a real one: after either, everything is expired.
    Nothing here returns a row to the caller, so nothing is read after the session ends."""
    db.expire_all()


def vouch_status(db: Session, ctx: Context, token: str) -> Vouches:
    return _vouches(db, ctx, recovery.open_attempt(db, ctx, token))


def enter_contact_code(
    db: Session, ctx: Context, origin: Origin, token: str, typed: str
) -> Vouches:
    """One contact's code: one vouch. At the threshold the attempt gets its proof."""
    attempt = recovery.open_attempt(db, ctx, token)
    _lock_attempt(db, attempt)
    if _wrong_codes(db, ctx, attempt) >= max_wrong_codes(ctx):
        raise TooManyAttempts(_seconds_left(ctx, attempt))
    try:
        code = normalize_backup_code(typed, CODE_DIGITS)
        request = db.scalar(
            select(TrustedContactRequest).where(
                TrustedContactRequest.attempt_id == attempt.id,
                TrustedContactRequest.code_digest == vouch_digest(ctx, attempt.id, code),
            )
        )
        if request is None:
            raise InvalidCode()
        _spend(db, ctx, request)
    except (InvalidCode, CodeAlreadyUsed, ContactCodeExpired) as error:
        failures = ctx.throttle.record_failure(db, codes_policy(ctx), attempt.public_id)
        record_event(
            db,
            ctx.clock,
            "trusted_contacts.code_failed",
            origin,
            user_id=attempt.user_id,
            outcome="failure",
            recovery=attempt.public_id,
            reason=error.code,
            failures=failures,
        )
        error.extra["attempts_left"] = max(0, max_wrong_codes(ctx) - failures)
        raise
    contact = get_user(db, request.contact_id)
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.vouched",
        origin,
        user_id=attempt.user_id,
        recovery=attempt.public_id,
        contact=contact.username if contact else None,
    )
    found = _vouches(db, ctx, attempt)
    if found.vouches >= found.needed and not found.proven:
        _prove(db, ctx, origin, attempt)
        return _vouches(db, ctx, attempt)
    return found


def _prove(db: Session, ctx: Context, origin: Origin, attempt: RecoveryAttempt) -> None:
    try:
        with db.begin_nested():
            recovery.add_proof(db, ctx, origin, attempt, "trusted_contacts")
    except IntegrityError:
        pass  # two last codes at once: the other request recorded the proof


def _lock_attempt(db: Session, attempt: RecoveryAttempt) -> None:
    """One code at a time per attempt (PostgreSQL row lock; SQLite's BEGIN IMMEDIATE
    already does), so codes typed at once all count and the last one sees the threshold."""
    db.execute(select(RecoveryAttempt.id).where(RecoveryAttempt.id == attempt.id).with_for_update())


def _named(db: Session, owner_id: int, key: str) -> tuple[User | None, bool]:
    """The account a name is the username of, and whether it is an active contact of the
    owner's: one statement, whichever it is."""
    row = db.execute(
        select(User, TrustedContact.id)
        .outerjoin(
            TrustedContact,
            and_(
                TrustedContact.contact_id == User.id,
                TrustedContact.owner_id == owner_id,
                TrustedContact.declined_at.is_(None),
            ),
        )
        .where(User.username_key == key, User.disabled_at.is_(None))
    ).first()
    if row is None:
        return None, False
    return row[0], row[1] is not None


def _ask(
    db: Session,
    ctx: Context,
    attempt: RecoveryAttempt,
    owner: User,
    contact: User,
    mailed: bool,
) -> bool:
    """One request per attempt and contact: naming them again asks nothing new."""
    exists = db.scalar(
        select(TrustedContactRequest.id).where(
            TrustedContactRequest.attempt_id == attempt.id,
            TrustedContactRequest.contact_id == contact.id,
        )
    )
    if exists is not None:
        return False
    now = ctx.clock.now()
    request = TrustedContactRequest(
        public_id=secrets.token_urlsafe(12),
        attempt_id=attempt.id,
        owner_id=owner.id,
        contact_id=contact.id,
        asked_at=now,
        expires_at=min(
            now + timedelta(hours=ctx.settings.trusted_contact_code_hours), attempt.expires_at
        ),
    )
    try:
        with db.begin_nested():
            db.add(request)
            db.flush()
    except IntegrityError:
        return False  # the same name in a racing request: asked there
    # Written every time, undone past the day's e-mails: an ask takes as long for a
    # contact mailed today as for anyone else.
    with kept_or_undone(db, keep=mailed):
        alert_user(
            db,
            ctx,
            contact,
            messages.HELP_NEEDED.subject,
            messages.HELP_NEEDED.body,
            owner=owner.username,
            link=page_link(ctx, f"{REQUEST_PAGE}/{request.public_id}"),
        )
    return True


def _mail_key(ctx: Context, owner_id: int, username_key: str) -> str:
    """The per-contact e-mail quota's key: the account and the name as typed (normalized),
    so a contact and a name that is no contact count alike."""
    return ctx.keyring.keyed_digest("throttle-contact-mail", str(owner_id), username_key)[:32]


def _may_email(db: Session, ctx: Context, key: str) -> bool:
    try:
        reserve_sends(db, ctx.clock, [(emails_quota(), key)])
    except TooManyAttempts:
        return False
    return True


def _stand_in_user(db: Session) -> User | None:
    """Someone to rehearse an ask with when the recovery names no account (never kept)."""
    return db.scalar(select(User).order_by(User.id).limit(1))


def _vouches(db: Session, ctx: Context, attempt: RecoveryAttempt) -> Vouches:
    count = db.scalar(
        select(func.count())
        .select_from(TrustedContactRequest)
        .where(
            TrustedContactRequest.attempt_id == attempt.id,
            TrustedContactRequest.vouched_at.is_not(None),
        )
    )
    proven = "trusted_contacts" in recovery.proofs_of(db, attempt)
    left = max(0, max_wrong_codes(ctx) - _wrong_codes(db, ctx, attempt))
    return Vouches(int(count or 0), needed_vouches(ctx), proven, left)


def _wrong_codes(db: Session, ctx: Context, attempt: RecoveryAttempt) -> int:
    return ctx.throttle.failures(db, codes_policy(ctx), attempt.public_id)


def _spend(db: Session, ctx: Context, request: TrustedContactRequest) -> None:
    """The one conditional UPDATE: a code vouches once, only while its request is live."""
    now = ctx.clock.now()
    if request.vouched_at is not None:
        raise CodeAlreadyUsed(request.vouched_at)
    if request.expires_at <= now:
        raise ContactCodeExpired()
    _, is_contact = _named(db, request.owner_id, username_of(db, request.contact_id).casefold())
    if not is_contact:
        raise InvalidCode()
    result = db.execute(
        update(TrustedContactRequest)
        .where(
            TrustedContactRequest.id == request.id,
            TrustedContactRequest.code_digest == request.code_digest,
            TrustedContactRequest.vouched_at.is_(None),
            TrustedContactRequest.closed_at.is_(None),
        )
        .values(vouched_at=now),
        execution_options={"synchronize_session": False},
    )
    db.refresh(request)
    if not changed_one(result):
        if request.vouched_at is not None:
            raise CodeAlreadyUsed(request.vouched_at)
        raise InvalidCode()


def _seconds_left(ctx: Context, attempt: RecoveryAttempt) -> int:
    return max(1, int((attempt.expires_at - ctx.clock.now()).total_seconds()))
