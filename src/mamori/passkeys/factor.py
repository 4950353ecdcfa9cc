"""A passkey as a second factor (`second_factors.methods.SecondFactor`): what is "typed"
is the browser's assertion JSON, for a challenge bound to this attempt (the login's
second step, a session's "Confirm it's you", a recovery)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.context import Context
from mamori.passkeys.challenges import Purpose
from mamori.passkeys.errors import PasskeyRequestExpired
from mamori.passkeys.service import has_passkeys, prove_passkey
from mamori.second_factors.methods import Attempt, Method, Proven


class PasskeyFactor:
    """Also a method that turns two-factor on (`SetUpFactor`): having a passkey is being
    set up. Its passkeys are removed on the Passkeys page only: turning two-factor off
    leaves them, since each still logs in on its own (two factors in one)."""

    method = Method.PASSKEY

    def available(self, db: Session, ctx: Context, user: User) -> bool:
        return has_passkeys(db, user.id)

    def is_set_up(self, db: Session, user_id: int) -> bool:
        return has_passkeys(db, user_id)

    def remove(self, db: Session, user_id: int) -> None:
        """Nothing: see the class."""

    def verify(self, db: Session, ctx: Context, attempt: Attempt, typed: str) -> Proven:
        if not attempt.binding:
            raise PasskeyRequestExpired()  # no challenge was given for this attempt
        prove_passkey(
            db,
            ctx,
            attempt.origin,
            typed,
            purpose=Purpose.SECOND_FACTOR,
            binding=attempt.binding,
            user=attempt.user,
        )
        return Proven(self.method)
