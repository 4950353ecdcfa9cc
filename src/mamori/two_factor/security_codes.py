"""Texted and e-mailed security codes as second factors: a code is sent for each attempt
and belongs to its binding (`codes.service`). The phone is a method the person sets up;
e-mail codes are offered where the operator allows them, to a confirmed address."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.codes import service as codes
from mamori.context import Context
from mamori.second_factors.methods import Attempt, Method, Proven
from mamori.two_factor.errors import MethodNotAvailable
from mamori.two_factor.models import PhoneMethod


def confirmed_phone(db: Session, user_id: int) -> PhoneMethod | None:
    return db.scalar(
        select(PhoneMethod).where(
            PhoneMethod.user_id == user_id, PhoneMethod.confirmed_at.is_not(None)
        )
    )


class _SentCode:
    method: Method
    channel: codes.Channel

    def destination(self, db: Session, ctx: Context, user: User) -> str | None:
        raise NotImplementedError

    def available(self, db: Session, ctx: Context, user: User) -> bool:
        return self.destination(db, ctx, user) is not None

    def send(self, db: Session, ctx: Context, attempt: Attempt) -> str:
        user = attempt.user
        destination = self.destination(db, ctx, user)
        if destination is None:
            raise MethodNotAvailable()
        codes.send_security_code(
            db,
            ctx,
            attempt.origin,
            codes.CodeRequest(
                user_id=user.id,
                purpose=attempt.purpose,
                binding=attempt.binding,
                channel=self.channel,
                destination=destination,
                locale=user.locale,
            ),
        )
        return codes.mask_destination(self.channel, destination)

    def verify(self, db: Session, ctx: Context, attempt: Attempt, typed: str) -> Proven:
        codes.verify_security_code(
            db, ctx, attempt.origin, purpose=attempt.purpose, binding=attempt.binding, typed=typed
        )
        return Proven(self.method)


class TextMessage(_SentCode):
    method = Method.SMS
    channel: codes.Channel = "sms"

    def destination(self, db: Session, ctx: Context, user: User) -> str | None:
        phone = confirmed_phone(db, user.id)
        return phone.phone if phone is not None else None

    def is_set_up(self, db: Session, user_id: int) -> bool:
        return confirmed_phone(db, user_id) is not None

    def remove(self, db: Session, user_id: int) -> None:
        db.execute(delete(PhoneMethod).where(PhoneMethod.user_id == user_id))


class EmailedCode(_SentCode):
    method = Method.EMAIL
    channel: codes.Channel = "email"

    def destination(self, db: Session, ctx: Context, user: User) -> str | None:
        confirmed = user.email and user.email_confirmed_at
        return user.email if ctx.settings.email_second_factor and confirmed else None
