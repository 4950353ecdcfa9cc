"""Who counts as a trusted contact, and the small helpers every side shares."""

from __future__ import annotations

import unicodedata
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import USERNAME, find_by_username, get_user
from mamori.context import Context
from mamori.trusted_contacts.models import TrustedContact, TrustedContactRequest

MINIMUM = 3
MAXIMUM = 5
CODE_DIGITS = 8
DIGEST_PURPOSE = "trusted-contact-code"
SETTINGS_PAGE = "/accounts/center/password-and-security/trusted-contacts"
REQUEST_PAGE = "/trusted-contacts/requests"


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


def username_key(typed: str) -> str | None:
    """The lookup form of a typed username (full-width letters welcome), or None."""
    if len(typed) > 64:
        return None
    cleaned = unicodedata.normalize("NFKC", typed).strip().lstrip("@")
    if not USERNAME.fullmatch(cleaned):
        return None
    return cleaned.casefold()


def user_named(db: Session, typed: str) -> User | None:
    key = username_key(typed)
    return find_by_username(db, key) if key is not None else None


def contact_row(db: Session, *, owner_id: int, contact_id: int) -> TrustedContact | None:
    return db.scalar(
        select(TrustedContact).where(
            TrustedContact.owner_id == owner_id, TrustedContact.contact_id == contact_id
        )
    )


def close_requests(db: Session, ctx: Context, owner_id: int, contact_id: int, reason: str) -> None:
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


def username_of(db: Session, user_id: int) -> str:
    user = get_user(db, user_id)
    return user.username if user else ""


def name_list(names: Any) -> str:
    return ", ".join(names)


def page_link(ctx: Context, path: str) -> str:
    return f"{ctx.settings.base_url.rstrip('/')}{path}"


def vouch_digest(ctx: Context, attempt_id: int, code: str) -> str:
    return ctx.keyring.keyed_digest(DIGEST_PURPOSE, str(attempt_id), code)
