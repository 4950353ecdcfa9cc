"""JSON routes: who am I, change the password."""

from __future__ import annotations

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from mamori.accounts_center import service
from mamori.sessions.signed_in import ApiAccount, ApiReader
from mamori.web import limits

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class MeOut(BaseModel):
    id: int
    username: str
    email: str | None
    phone: str | None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD)
    new_password: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD)


@router.get("/me")
async def who_am_i(me: ApiReader) -> MeOut:
    # async: the person came with the session in one read; nothing here does I/O.
    user = me.user
    return MeOut(id=user.id, username=user.username, email=user.email, phone=user.phone)


@router.post(
    "/me/password",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        401: {"description": "not_authenticated; invalid_credentials: the current password"},
        422: {"description": "invalid_request, password_too_short, password_too_common, …"},
        429: {"description": "too_many_attempts (Retry-After)"},
    },
)
def change_password(body: PasswordChange, me: ApiAccount) -> Response:
    service.change_password(
        me.db,
        me.ctx,
        me.origin,
        me.user,
        current_password=body.current_password,
        new_password=body.new_password,
        session_id=me.session_id,
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
