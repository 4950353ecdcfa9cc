"""JSON routes: log in with a password, log out."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from mamori.core.deps import Ctx, RequestOrigin
from mamori.login import service
from mamori.sessions.http import ApiCaller
from mamori.sessions.models import LoginSession
from mamori.sessions.service import end_session

router = APIRouter(prefix="/api/v1", tags=["login"])


class LoginRequest(BaseModel):
    login: str = Field(min_length=1, max_length=254, description="Username, e-mail or phone")
    password: str = Field(min_length=1, max_length=4096)


class Authenticated(BaseModel):
    status: Literal["authenticated"] = "authenticated"
    token: str


@router.post("/login", responses={401: {"description": "invalid_credentials"}})
def log_in(body: LoginRequest, ctx: Ctx, origin: RequestOrigin) -> Authenticated:
    with ctx.database.session() as db:
        result = service.log_in(
            db, ctx, origin, login=body.login, password=body.password, kind="api"
        )
        assert result.session is not None
        return Authenticated(token=result.session.token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(ctx: Ctx, origin: RequestOrigin, caller: ApiCaller) -> Response:
    with ctx.database.session() as db:
        session = db.get(LoginSession, caller.session_id)
        if session is not None:
            end_session(db, ctx.clock, origin, session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
