"""The owner chooses 3 to 5 trusted contacts, or removes one (after a reauthentication)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import find_by_username
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.notifications.service import alert_user
from mamori.sessions.reauthentication import recently_reauthenticated_user
from mamori.trusted_contacts import messages
from mamori.trusted_contacts.contacts import (
    MAXIMUM,
    MINIMUM,
    SETTINGS_PAGE,
    active_contact_count,
    close_requests,
    contact_row,
    is_available,
    name_list,
    needed_vouches,
    page_link,
    user_named,
    username_key,
    username_of,
)
from mamori.trusted_contacts.errors import (
    CannotChooseYourself,
    ContactDeclined,
    ContactNotFound,
    DuplicateContact,
    TooFewContacts,
    TooManyContacts,
    UnknownContact,
)
from mamori.trusted_contacts.models import TrustedContact


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
    removed_names = [username_of(db, row.contact_id) for row in removed]
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
        contacts=name_list(user.username for user in chosen),
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
    contact = user_named(db, username)
    row = contact_row(db, owner_id=owner.id, contact_id=contact.id) if contact else None
    if row is None:
        raise ContactNotFound()
    name = username_of(db, row.contact_id)
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
        key = username_key(typed)
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


def _lock_owner(db: Session, owner_id: int) -> None:
    """Serialize changes to one owner's list (PostgreSQL row lock; SQLite already does)."""
    db.execute(select(User.id).where(User.id == owner_id).with_for_update())


def _rows_of_owner(db: Session, owner_id: int) -> list[TrustedContact]:
    return list(db.scalars(select(TrustedContact).where(TrustedContact.owner_id == owner_id)))


def _drop(db: Session, ctx: Context, row: TrustedContact, *, reason: str) -> None:
    close_requests(db, ctx, row.owner_id, row.contact_id, reason)
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
        link=page_link(ctx, SETTINGS_PAGE),
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
