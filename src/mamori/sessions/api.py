"""JSON routes: list and end sessions, reauthenticate."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field, model_validator

from mamori.core.deps import Ctx, RequestOrigin
from mamori.login.service import reauthenticate_with_second_factor
from mamori.sessions import service
from mamori.sessions.devices import describe_device
from mamori.sessions.http import ApiCaller
from mamori.sessions.reauthentication import reauthenticate_with_password

router = APIRouter(prefix="/api/v1/me", tags=["sessions"])


class SessionOut(BaseModel):
    id: str
    current: bool
    user_agent: str | None
    device: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime


class SessionList(BaseModel):
    sessions: list[SessionOut]


class ReauthenticateRequest(BaseModel):
    """The password, or a second factor: `method` (totp or backup_code) with its `code`."""

    password: str | None = Field(default=None, min_length=1, max_length=4096)
    method: Literal["totp", "backup_code"] | None = None
    code: str | None = Field(default=None, min_length=1, max_length=64)

    @model_validator(mode="after")
    def _one_proof(self) -> ReauthenticateRequest:
        with_code = self.method is not None and self.code is not None
        if (self.password is None) == (not with_code):
            raise ValueError("send either password, or method and code")
        return self


@router.get("/sessions")
def list_sessions(ctx: Ctx, caller: ApiCaller) -> SessionList:
    with ctx.database.session() as db:
        sessions = service.active_sessions(db, ctx.clock, ctx.settings, caller.user_id)
        return SessionList(
            sessions=[
                SessionOut(
                    id=s.public_id,
                    current=s.id == caller.session_id,
                    user_agent=s.user_agent,
                    device=describe_device(s.user_agent),
                    ip=s.ip,
                    created_at=s.created_at,
                    last_seen_at=s.last_seen_at,
                )
                for s in sessions
            ]
        )


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "session_not_found: ended, or not one of yours"}},
)
def end_session(
    ctx: Ctx,
    origin: RequestOrigin,
    caller: ApiCaller,
    session_id: str = Path(max_length=64),
) -> Response:
    with ctx.database.session() as db:
        service.end_session_by_id(db, ctx.clock, origin, caller.user_id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/reauthenticate",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        400: {"description": "invalid_code, clock_out_of_sync, method_not_available"},
        401: {"description": "not_authenticated; invalid_credentials: the password"},
        409: {"description": "code_already_used"},
        429: {"description": "too_many_attempts (Retry-After)"},
    },
)
def reauthenticate(
    body: ReauthenticateRequest, ctx: Ctx, origin: RequestOrigin, caller: ApiCaller
) -> Response:
    with ctx.database.session() as db:
        if body.password is not None:
            reauthenticate_with_password(db, ctx, origin, caller.session_id, body.password)
        else:
            assert body.method is not None and body.code is not None
            reauthenticate_with_second_factor(
                db, ctx, origin, caller.session_id, body.method, body.code
            )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
