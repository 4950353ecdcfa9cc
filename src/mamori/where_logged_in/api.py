"""JSON routes: where you're logged in (list and end sessions, login activity)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Path, Request, Response, status
from pydantic import BaseModel, Field

from mamori.core.i18n import translator
from mamori.security.present import activity_view
from mamori.security.service import login_activity
from mamori.sessions import service
from mamori.sessions.devices import describe_device
from mamori.sessions.signed_in import ApiAccount, SignedIn
from mamori.web import limits
from mamori.web.templating import request_locale

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


class LoginEventOut(BaseModel):
    id: int
    event: Literal["login.succeeded", "login.password_failed", "login.second_factor_failed"]
    title: str = Field(description="In the caller's language (Accept-Language)")
    succeeded: bool
    at: datetime
    ip: str | None
    device: str


class LoginActivity(BaseModel):
    sessions: list[SessionOut] = Field(description="Where you're logged in now")
    events: list[LoginEventOut] = Field(
        description="Logins and failed attempts of the last 30 days, newest first"
    )


def _session_list(me: SignedIn) -> list[SessionOut]:
    sessions = service.active_sessions(me.db, me.ctx.clock, me.ctx.settings, me.user_id)
    return [
        SessionOut(
            id=s.public_id,
            current=s.id == me.session_id,
            user_agent=s.user_agent,
            device=describe_device(s.user_agent),
            ip=s.ip,
            created_at=s.created_at,
            last_seen_at=s.last_seen_at,
        )
        for s in sessions
    ]


@router.get("/sessions")
def list_sessions(me: ApiAccount) -> SessionList:
    return SessionList(sessions=_session_list(me))


@router.get("/login-activity")
def list_login_activity(request: Request, me: ApiAccount) -> LoginActivity:
    _ = translator(request_locale(request))
    events = login_activity(me.db, me.ctx, me.user_id)
    return LoginActivity(
        sessions=_session_list(me),
        events=[LoginEventOut(**vars(activity_view(event, _))) for event in events],
    )


@router.delete(
    "/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "session_not_found: ended, or not one of yours"}},
)
def end_session(
    me: ApiAccount,
    session_id: str = Path(max_length=limits.MAX_NAME_OR_ID),
) -> Response:
    service.end_session_by_id(me.db, me.ctx.clock, me.origin, me.user_id, session_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
