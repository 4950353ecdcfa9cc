"""JSON routes: create an account, who am I, change the password."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from mamori.accounts import service
from mamori.core.errors import NotAuthenticated
from mamori.sessions.http import ApiCaller
from mamori.sessions.models import LoginSession
from mamori.sessions.service import end_other_sessions
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import request_locale

router = APIRouter(prefix="/api/v1", tags=["accounts"])


class SignUpRequest(BaseModel):
    username: str = Field(min_length=1, max_length=30)
    password: str = Field(min_length=1, max_length=4096)
    email: str | None = Field(default=None, max_length=254)
    phone: str | None = Field(default=None, max_length=32)


class AccountOut(BaseModel):
    id: int
    username: str


class MeOut(BaseModel):
    id: int
    username: str
    email: str | None
    phone: str | None


class PasswordChange(BaseModel):
    current_password: str = Field(min_length=1, max_length=4096)
    new_password: str = Field(min_length=1, max_length=4096)


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
    request: Request, body: SignUpRequest, ctx: Ctx, origin: RequestOrigin
) -> AccountOut:
    with ctx.database.session() as db:
        user = service.sign_up(
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


@router.get("/me")
def who_am_i(ctx: Ctx, caller: ApiCaller) -> MeOut:
    with ctx.database.session() as db:
        user = service.get_user(db, caller.user_id)
        if user is None:
            raise NotAuthenticated()
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
def change_password(
    body: PasswordChange, ctx: Ctx, origin: RequestOrigin, caller: ApiCaller
) -> Response:
    with ctx.database.session() as db:
        user = service.get_user(db, caller.user_id)
        if user is None:
            raise NotAuthenticated()
        service.change_password(
            db,
            ctx,
            origin,
            user,
            current_password=body.current_password,
            new_password=body.new_password,
        )
        end_other_sessions(db, ctx.clock, origin, user.id, db.get(LoginSession, caller.session_id))
    return Response(status_code=status.HTTP_204_NO_CONTENT)
