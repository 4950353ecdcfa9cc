"""JSON route: create an account."""

from __future__ import annotations

from fastapi import APIRouter, Request, status
from pydantic import BaseModel, Field

from mamori.sessions.signed_in import Db
from mamori.sign_up.service import sign_up
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import request_locale

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class SignUpRequest(BaseModel):
    username: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_USERNAME)
    password: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD)
    email: str | None = Field(default=None, max_length=limits.MAX_EMAIL)
    phone: str | None = Field(default=None, max_length=limits.MAX_PHONE)


class AccountOut(BaseModel):
    id: int
    username: str


@router.post(
    "/accounts",
    status_code=status.HTTP_201_CREATED,
    responses={
        409: {"description": "username_taken"},
        422: {
            "description": "invalid_request, invalid_username, username_reserved, "
            "invalid_email, invalid_phone, password_too_short, password_too_long, "
            "password_too_common, password_too_similar, password_invalid_characters"
        },
    },
)
def create_account(
    request: Request, body: SignUpRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> AccountOut:
    user = sign_up(
        db,
        ctx,
        origin,
        username=body.username,
        password=body.password,
        email=body.email,
        phone=body.phone,
        # Alerts are written in the language the app asked in (Accept-Language).
        locale=request_locale(request),
    )
    return AccountOut(id=user.id, username=user.username)
