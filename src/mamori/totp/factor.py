"""The authenticator app as a second factor (`second_factors.methods.SetUpFactor`)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.context import Context
from mamori.second_factors.methods import Attempt, Method, Proven
from mamori.totp.service import has_authenticator, remove_authenticator, verify_totp


class AuthenticatorApp:
    method = Method.TOTP

    def available(self, db: Session, ctx: Context, user: User) -> bool:
        return has_authenticator(db, user.id)

    def verify(self, db: Session, ctx: Context, attempt: Attempt, typed: str) -> Proven:
        verify_totp(db, ctx, attempt.user.id, typed)
        return Proven(self.method)

    def is_set_up(self, db: Session, user_id: int) -> bool:
        return has_authenticator(db, user_id)

    def remove(self, db: Session, user_id: int) -> None:
        remove_authenticator(db, user_id)
