"""Trusted contacts: 3 to 5 friends who help you back in when every other way is lost.

The rules (issue 5, DESIGN.md):

- The owner chooses 3 to 5 other mamori accounts by username (public handles), never
  themselves, after a reauthentication. Each contact is told and may decline; only
  contacts who have not declined count, and with fewer than 3 (or fewer than the
  threshold) the way is not available for recovery.
- Recovering, the person types the usernames they remember. We never list an account's
  contacts to anyone not logged in as its owner: every named user who is an active
  contact gets a request for help, the rest are ignored, and the answer is the same
  whether none, some or all were contacts, or whether the account exists at all.
- A contact opens the request (logged in), sees who asks, and confirms they will pass
  the code on by voice; only then is an 8-digit code made. It is shown once (a new one
  replaces it), stored as a keyed digest bound to that one recovery attempt, and lives
  as long as the request (`trusted_contact_code_hours`, 24 h from the asking).
- Each right code is one vouch, once per contact: spending it is one conditional
  UPDATE. Wrong codes are counted per attempt (at most 5 × threshold). When the vouches
  reach the threshold the attempt gets its `trusted_contacts` proof.
- Every step is audited; the owner hears of every ask, every code given, every refusal,
  and every change to the list; a contact hears when chosen or removed.
"""

from __future__ import annotations

import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import USERNAME, find_by_username, get_user
from mamori.audit.service import Origin, record_event
from mamori.backup_codes.service import format_backup_code, normalize_backup_code
from mamori.context import Context
from mamori.core.db import changed_one, kept_or_undone
from mamori.core.errors import CodeAlreadyUsed, InvalidCode, TooManyAttempts
from mamori.core.throttle import Policy
from mamori.notifications.quotas import SendQuota, reserve_sends
from mamori.notifications.service import alert_user
from mamori.recovery import service as recovery
from mamori.recovery.models import OPEN, RecoveryAttempt
from mamori.sessions.reauthentication import recently_reauthenticated_user
from mamori.sessions.service import PUBLIC_ID
from mamori.trusted_contacts import messages
from mamori.trusted_contacts.errors import (
    CannotChooseYourself,
    ContactCodeExpired,
    ContactDeclined,
    ContactNotFound,
    DuplicateContact,
    RequestClosed,
    RequestExpired,
    RequestNotFound,
    TooFewContacts,
    TooManyContacts,
    UnknownContact,
)
from mamori.trusted_contacts.models import TrustedContact, TrustedContactRequest

MINIMUM = 3
MAXIMUM = 5
CODE_DIGITS = 8
DIGEST_PURPOSE = "trusted-contact-code"
# Names one recovery may type in one go, and how often it may ask: enough to
# misremember a few handles, too few to page through the user base.
MAX_NAMES = 10
ASKS_PER_ATTEMPT = 5
# E-mails one owner's recoveries may send one contact in a day; more requests still
# show in the contact's list, they just do not mail them again.
EMAILS_PER_CONTACT_DAY = 3
SETTINGS_PAGE = "/accounts/center/password-and-security/trusted-contacts"
REQUEST_PAGE = "/trusted-contacts/requests"

RequestState = Literal["waiting", "code_given", "vouched", "refused", "closed"]


@dataclass(frozen=True)
class ChosenContact:
    username: str
    chosen_at: datetime
    declined_at: datetime | None

    @property
    def active(self) -> bool:
        return self.declined_at is None


@dataclass(frozen=True)
class ContactList:
    contacts: list[ChosenContact]
    active: int
    threshold: int
    # Whether trusted contacts can help this account back in right now.
    available: bool


@dataclass(frozen=True)
class Chooser:
    """Someone who chose me as a trusted contact."""

    username: str
    chosen_at: datetime


@dataclass(frozen=True)
class HelpRequest:
    """A request for help as the contact sees it."""

    public_id: str
    username: str  # whose account is being recovered
    asked_at: datetime
    expires_at: datetime
    state: RequestState
    code_given_at: datetime | None


@dataclass(frozen=True)
class GivenCode:
    code: str  # "1234 5678"
    expires_at: datetime


@dataclass(frozen=True)
class Vouches:
    vouches: int
    needed: int
    proven: bool
    attempts_left: int


# --- the owner: choosing -----------------------------------------------------------------


def active_contact_count(db: Session, user_id: int) -> int:
    """Contacts who have not declined and whose accounts still work (security checkup)."""
    query = (
        select(func.count())
        .select_from(TrustedContact)
        .join(User, User.id == TrustedContact.contact_id)
        .where(
            TrustedContact.owner_id == user_id,
            TrustedContact.declined_at.is_(None),
            User.disabled_at.is_(None),
        )
    )
    return int(db.scalar(query) or 0)


def needed_vouches(ctx: Context) -> int:
    return ctx.settings.trusted_contacts_threshold


def is_available(db: Session, ctx: Context, user_id: int) -> bool:
    return active_contact_count(db, user_id) >= max(MINIMUM, needed_vouches(ctx))


def trusted_contacts(db: Session, ctx: Context, user_id: int) -> ContactList:
    rows = db.execute(
        select(TrustedContact, User.username)
        .join(User, User.id == TrustedContact.contact_id)
        .where(TrustedContact.owner_id == user_id)
        .order_by(TrustedContact.chosen_at, TrustedContact.id)
    ).all()
    contacts = [ChosenContact(name, row.chosen_at, row.declined_at) for row, name in rows]
    return ContactList(
        contacts,
        active_contact_count(db, user_id),
        needed_vouches(ctx),
        is_available(db, ctx, user_id),
    )


def choose_trusted_contacts(
    db: Session, ctx: Context, origin: Origin, session_id: int, usernames: list[str]
) -> ContactList:
    """Make `usernames` the owner's contacts (3 to 5). Needs a reauthentication.

    Contacts left out are removed; declined ones stay listed until removed, and naming
    one again is ContactDeclined. Everything is checked before anything changes."""
    owner = recently_reauthenticated_user(db, ctx, session_id)
    chosen = _chosen_users(db, owner, usernames)
    _lock_owner(db, owner.id)
    existing = {row.contact_id: row for row in _rows_of_owner(db, owner.id)}
    for user in chosen:
        row = existing.get(user.id)
        if row is not None and row.declined_at is not None:
            raise ContactDeclined(user.username)
    wanted = {user.id for user in chosen}
    removed = [
        row for row in existing.values() if row.declined_at is None and row.contact_id not in wanted
    ]
    added = [user for user in chosen if user.id not in existing]
    removed_names = [_username(db, row.contact_id) for row in removed]
    for row in removed:
        _drop(db, ctx, row, reason="removed")
    now = ctx.clock.now()
    for user in added:
        db.add(TrustedContact(owner_id=owner.id, contact_id=user.id, chosen_at=now))
    db.flush()
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.chosen",
        origin,
        user_id=owner.id,
        contacts=[user.username for user in chosen],
        added=[user.username for user in added],
        removed=removed_names,
    )
    alert_user(
        db,
        ctx,
        owner,
        messages.CONTACTS_CHANGED.subject,
        messages.CONTACTS_CHANGED.body,
        contacts=_names(user.username for user in chosen),
    )
    for user in added:
        _tell_chosen(db, ctx, owner, user)
    for name in removed_names:
        _tell_removed(db, ctx, owner, name)
    return trusted_contacts(db, ctx, owner.id)


def remove_trusted_contact(
    db: Session, ctx: Context, origin: Origin, session_id: int, username: str
) -> None:
    """Take one person off the list (declined or not). Needs a reauthentication."""
    owner = recently_reauthenticated_user(db, ctx, session_id)
    contact = _user_named(db, username)
    row = _row(db, owner_id=owner.id, contact_id=contact.id) if contact else None
    if row is None:
        raise ContactNotFound()
    name = _username(db, row.contact_id)
    was_active = row.declined_at is None
    _drop(db, ctx, row, reason="removed")
    record_event(db, ctx.clock, "trusted_contacts.removed", origin, user_id=owner.id, contact=name)
    alert_user(
        db,
        ctx,
        owner,
        messages.CONTACT_REMOVED.subject,
        messages.CONTACT_REMOVED.body,
        contact=name,
        count=active_contact_count(db, owner.id),
    )
    if was_active:
        _tell_removed(db, ctx, owner, name)


def _chosen_users(db: Session, owner: User, usernames: list[str]) -> list[User]:
    if not MINIMUM <= len(usernames) <= MAXIMUM:
        raise (TooFewContacts() if len(usernames) < MINIMUM else TooManyContacts())
    seen: set[str] = set()
    chosen = []
    for typed in usernames:
        key = _username_key(typed)
        if key is None:
            raise UnknownContact(typed)
        if key in seen:
            raise DuplicateContact(typed)
        seen.add(key)
        if key == owner.username_key:
            raise CannotChooseYourself(typed)
        user = find_by_username(db, key)
        if user is None or user.disabled_at is not None:
            raise UnknownContact(typed)
        chosen.append(user)
    return chosen


def _username_key(typed: str) -> str | None:
    """The lookup form of a typed username (full-width letters welcome), or None."""
    if len(typed) > 64:
        return None
    cleaned = unicodedata.normalize("NFKC", typed).strip().lstrip("@")
    if not USERNAME.fullmatch(cleaned):
        return None
    return cleaned.casefold()


def _lock_owner(db: Session, owner_id: int) -> None:
    """Serialize changes to one owner's list (PostgreSQL row lock; SQLite already does)."""
    db.execute(select(User.id).where(User.id == owner_id).with_for_update())


def _rows_of_owner(db: Session, owner_id: int) -> list[TrustedContact]:
    return list(db.scalars(select(TrustedContact).where(TrustedContact.owner_id == owner_id)))


def _user_named(db: Session, typed: str) -> User | None:
    key = _username_key(typed)
    return find_by_username(db, key) if key is not None else None


def _row(db: Session, *, owner_id: int, contact_id: int) -> TrustedContact | None:
    return db.scalar(
        select(TrustedContact).where(
            TrustedContact.owner_id == owner_id, TrustedContact.contact_id == contact_id
        )
    )


def _drop(db: Session, ctx: Context, row: TrustedContact, *, reason: str) -> None:
    _close_requests(db, ctx, row.owner_id, row.contact_id, reason)
    db.execute(
        delete(TrustedContact).where(TrustedContact.id == row.id),
        execution_options={"synchronize_session": "fetch"},
    )


def _tell_chosen(db: Session, ctx: Context, owner: User, contact: User) -> None:
    alert_user(
        db,
        ctx,
        contact,
        messages.YOU_WERE_CHOSEN.subject,
        messages.YOU_WERE_CHOSEN.body,
        owner=owner.username,
        link=_link(ctx, SETTINGS_PAGE),
    )


def _tell_removed(db: Session, ctx: Context, owner: User, contact_name: str) -> None:
    contact = find_by_username(db, contact_name.casefold())
    if contact is None:
        return
    alert_user(
        db,
        ctx,
        contact,
        messages.YOU_WERE_REMOVED.subject,
        messages.YOU_WERE_REMOVED.body,
        owner=owner.username,
    )


# --- the contact: who chose me, declining --------------------------------------------------


def chosen_by(db: Session, contact_id: int) -> list[Chooser]:
    rows = db.execute(
        select(User.username, TrustedContact.chosen_at)
        .join(User, User.id == TrustedContact.owner_id)
        .where(TrustedContact.contact_id == contact_id, TrustedContact.declined_at.is_(None))
        .order_by(TrustedContact.chosen_at, TrustedContact.id)
    ).all()
    return [Chooser(name, chosen_at) for name, chosen_at in rows]


def decline(db: Session, ctx: Context, origin: Origin, contact_id: int, owner_name: str) -> None:
    """Stop being `owner_name`'s trusted contact. Their open requests to me close."""
    owner = _user_named(db, owner_name)
    row = _row(db, owner_id=owner.id, contact_id=contact_id) if owner else None
    contact = get_user(db, contact_id)
    if owner is None or row is None or row.declined_at is not None or contact is None:
        raise ContactNotFound()
    row.declined_at = ctx.clock.now()
    _close_requests(db, ctx, owner.id, contact_id, "declined")
    db.flush()
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.declined",
        origin,
        user_id=owner.id,
        contact=contact.username,
    )
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.declined_by_me",
        origin,
        user_id=contact.id,
        owner=owner.username,
    )
    count = active_contact_count(db, owner.id)
    alert_user(
        db,
        ctx,
        owner,
        messages.CONTACT_DECLINED.subject,
        messages.CONTACT_DECLINED.body,
        contact=contact.username,
        count=count,
        link=_link(ctx, SETTINGS_PAGE),
    )


# --- the person recovering -----------------------------------------------------------------


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
    code is (codes.service._withhold)."""
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
    for key in dict.fromkeys(k for k in map(_username_key, usernames[:MAX_NAMES]) if k):
        contact = _active_contact(db, owner_id, key)
        real = available and owner is not None and contact is not None
        asker, asked_one = (owner, contact) if real else (stand_in, stand_in)
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
                contacts=_names(asked or [told.username]),
            )
    return _vouches(db, ctx, attempt)


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
                TrustedContactRequest.code_digest == _digest(ctx, attempt.id, code),
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


def _active_contact(db: Session, owner_id: int, key: str) -> User | None:
    return db.scalar(
        select(User)
        .join(TrustedContact, TrustedContact.contact_id == User.id)
        .where(
            TrustedContact.owner_id == owner_id,
            TrustedContact.declined_at.is_(None),
            User.username_key == key,
            User.disabled_at.is_(None),
        )
    )


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
            link=_link(ctx, f"{REQUEST_PAGE}/{request.public_id}"),
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
    if _active_contact(db, request.owner_id, _username(db, request.contact_id).casefold()) is None:
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


def _digest(ctx: Context, attempt_id: int, code: str) -> str:
    return ctx.keyring.keyed_digest(DIGEST_PURPOSE, str(attempt_id), code)


# --- the contact: requests for help --------------------------------------------------------


def help_requests(db: Session, ctx: Context, contact_id: int) -> list[HelpRequest]:
    """Live requests to me that still need me (not refused, not already vouched)."""
    now = ctx.clock.now()
    rows = db.scalars(
        select(TrustedContactRequest)
        .where(
            TrustedContactRequest.contact_id == contact_id,
            TrustedContactRequest.closed_at.is_(None),
            TrustedContactRequest.vouched_at.is_(None),
            TrustedContactRequest.expires_at > now,
        )
        .order_by(TrustedContactRequest.asked_at.desc(), TrustedContactRequest.id.desc())
    )
    return [_shown(db, row) for row in rows if _live(db, ctx, row)]


def help_request(db: Session, ctx: Context, contact_id: int, public_id: str) -> HelpRequest:
    return _shown(db, _my_live_request(db, ctx, contact_id, public_id))


def give_code(
    db: Session, ctx: Context, origin: Origin, contact_id: int, public_id: str
) -> GivenCode:
    """The contact confirmed they will pass the code on by voice: make it (replacing an
    unused earlier one) and show it this once."""
    request = _my_live_request(db, ctx, contact_id, public_id)
    if request.vouched_at is not None or request.closed_at is not None:
        raise RequestClosed()
    first = request.code_issued_at is None
    code = _fresh_code(db, ctx, request.attempt_id)
    request.code_digest = _digest(ctx, request.attempt_id, code)
    request.code_issued_at = ctx.clock.now()
    db.flush()
    owner = get_user(db, request.owner_id)
    contact = get_user(db, contact_id)
    assert owner is not None and contact is not None
    attempt = db.get(RecoveryAttempt, request.attempt_id)
    assert attempt is not None
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.code_given",
        origin,
        user_id=owner.id,
        recovery=attempt.public_id,
        contact=contact.username,
        request=request.public_id,
    )
    if first:
        recovery.alert_everywhere(
            db,
            ctx,
            origin,
            owner,
            messages.CODE_GIVEN,
            contact=contact.username,
            username=owner.username,
        )
    return GivenCode(format_backup_code(code), request.expires_at)


def refuse_request(
    db: Session, ctx: Context, origin: Origin, contact_id: int, public_id: str
) -> None:
    """ "This isn't them": the request closes and its code (if any) stops working."""
    request = _my_live_request(db, ctx, contact_id, public_id)
    if request.vouched_at is not None or request.closed_at is not None:
        raise RequestClosed()
    request.closed_at = ctx.clock.now()
    request.closed_reason = "refused"
    request.code_digest = None
    db.flush()
    owner = get_user(db, request.owner_id)
    contact = get_user(db, contact_id)
    attempt = db.get(RecoveryAttempt, request.attempt_id)
    assert owner is not None and contact is not None and attempt is not None
    record_event(
        db,
        ctx.clock,
        "trusted_contacts.request_refused",
        origin,
        user_id=owner.id,
        recovery=attempt.public_id,
        contact=contact.username,
        request=request.public_id,
    )
    recovery.alert_everywhere(
        db,
        ctx,
        origin,
        owner,
        messages.REQUEST_REFUSED,
        contact=contact.username,
        username=owner.username,
    )


def _my_live_request(
    db: Session, ctx: Context, contact_id: int, public_id: str
) -> TrustedContactRequest:
    request = None
    if PUBLIC_ID.fullmatch(public_id):
        request = db.scalar(
            select(TrustedContactRequest).where(
                TrustedContactRequest.public_id == public_id,
                TrustedContactRequest.contact_id == contact_id,
            )
        )
    if request is None:
        raise RequestNotFound()
    if request.closed_at is not None and request.closed_reason != "refused":
        raise RequestNotFound()  # declined or removed meanwhile: no longer theirs to see
    if request.expires_at <= ctx.clock.now() or not _live(db, ctx, request):
        raise RequestExpired()
    return request


def _live(db: Session, ctx: Context, request: TrustedContactRequest) -> bool:
    """Whether the recovery that asked is still open: not finished, expired, cancelled,
    nor killed by a password change (what recovery.open_attempt checks, by row)."""
    attempt = db.get(RecoveryAttempt, request.attempt_id)
    if attempt is None or attempt.state != OPEN or attempt.expires_at <= ctx.clock.now():
        return False
    owner = recovery.attempt_user(db, attempt)
    return (
        owner is not None
        and owner.disabled_at is None
        and recovery.password_stamp(owner) == attempt.password_stamp
    )


def _shown(db: Session, request: TrustedContactRequest) -> HelpRequest:
    state: RequestState = "waiting"
    if request.closed_at is not None:
        state = "refused" if request.closed_reason == "refused" else "closed"
    elif request.vouched_at is not None:
        state = "vouched"
    elif request.code_issued_at is not None:
        state = "code_given"
    return HelpRequest(
        request.public_id,
        _username(db, request.owner_id),
        request.asked_at,
        request.expires_at,
        state,
        request.code_issued_at,
    )


def _fresh_code(db: Session, ctx: Context, attempt_id: int) -> str:
    """Uniform 8 digits, distinct from the other live codes of this attempt."""
    while True:
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        taken = db.scalar(
            select(TrustedContactRequest.id).where(
                TrustedContactRequest.code_digest == _digest(ctx, attempt_id, code)
            )
        )
        if taken is None:
            return code


def _close_requests(db: Session, ctx: Context, owner_id: int, contact_id: int, reason: str) -> None:
    db.execute(
        update(TrustedContactRequest)
        .where(
            TrustedContactRequest.owner_id == owner_id,
            TrustedContactRequest.contact_id == contact_id,
            TrustedContactRequest.closed_at.is_(None),
            TrustedContactRequest.vouched_at.is_(None),
        )
        .values(closed_at=ctx.clock.now(), closed_reason=reason, code_digest=None),
        execution_options={"synchronize_session": "fetch"},
    )


# --- small helpers -----------------------------------------------------------------------


def _username(db: Session, user_id: int) -> str:
    user = get_user(db, user_id)
    return user.username if user else ""


def _names(names: Any) -> str:
    return ", ".join(names)


def _link(ctx: Context, path: str) -> str:
    return f"{ctx.settings.base_url.rstrip('/')}{path}"
