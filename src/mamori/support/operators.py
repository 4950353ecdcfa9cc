"""Operators: who may work the support queue (a role granted on the command line)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import find_by_username
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.support.errors import NotAnOperator
from mamori.support.models import Operator


def is_operator(db: Session, user_id: int) -> bool:
    return db.get(Operator, user_id) is not None


def require_operator(db: Session, user: User | None) -> User:
    if user is None or user.disabled_at is not None or not is_operator(db, user.id):
        raise NotAnOperator()
    return user


def grant_operator(
    db: Session, ctx: Context, origin: Origin, user: User, *, granted_by: str
) -> bool:
    """Let `user` work the support queue. False when they already may."""
    if is_operator(db, user.id):
        return False
    db.add(Operator(user_id=user.id, granted_at=ctx.clock.now(), granted_by=granted_by[:64]))
    db.flush()
    record_event(db, ctx.clock, "operator.granted", origin, user_id=user.id, by=granted_by)
    return True


def revoke_operator(
    db: Session, ctx: Context, origin: Origin, user: User, *, revoked_by: str
) -> bool:
    found = db.get(Operator, user.id)
    if found is None:
        return False
    db.delete(found)
    db.flush()
    record_event(db, ctx.clock, "operator.revoked", origin, user_id=user.id, by=revoked_by)
    return True


def find_operator(db: Session, username: str) -> User:
    """The operator named on the command line (`--operator NAME`)."""
    return require_operator(db, find_by_username(db, username))
