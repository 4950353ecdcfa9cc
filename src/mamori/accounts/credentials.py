"""The account's credential state, and ending what was granted under an older one.

A login that passed the password step and waits for its second factor, and a "Confirm
it's you" window, are each bound to a stamp of the account's credentials. The stamp
changes with the password (argon2id salts every hash afresh) and with every
`end_open_logins`, which every path that ends the account's other sessions calls: a
password change, a recovery, "This wasn't me", an operator's disable, "log out of all
other sessions". A stale stamp counts as no login and no confirmation.
"""

from __future__ import annotations

import hashlib

from sqlalchemy import update
from sqlalchemy.orm import Session

from mamori.accounts.models import User


def credential_stamp(user: User) -> str:
    material = f"{user.credential_generation}:{user.password_hash}"
    return hashlib.sha256(material.encode()).hexdigest()


def end_open_logins(db: Session, user_id: int) -> None:
    """Every open login challenge and every "Confirm it's you" window of the account goes
    stale: one atomic increment, so two at once both count."""
    db.execute(
        update(User)
        .where(User.id == user_id)
        .values(credential_generation=User.credential_generation + 1)
        .execution_options(synchronize_session="fetch")
    )


def hold_credentials(db: Session, user: User) -> bool:
    """Are the account's credentials still what `user` holds? If so they stay so until
    this transaction ends: the row is locked (PostgreSQL re-checks the condition after a
    concurrent change commits; SQLite has one writer), so a password change that commits
    meanwhile cannot slip between the check and a new session."""
    unchanged = db.execute(
        update(User)
        .where(
            User.id == user.id,
            User.credential_generation == user.credential_generation,
            User.password_hash == user.password_hash,
        )
        .values(credential_generation=User.credential_generation)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(unchanged == 1)
