"""JSON routes: view the backup codes again, get new codes.

Spending a code at login is `POST /api/v1/login/{challenge}/verify` with
method=backup_code (the login feature); both routes here need a reauthentication in the
last 10 minutes (`POST /api/v1/me/reauthenticate`), else 403 reauthentication_required.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.backup_codes import service
from mamori.core.errors import NotAuthenticated
from mamori.sessions.http import ApiCaller, Caller
from mamori.sessions.models import LoginSession
from mamori.web.deps import Ctx, RequestOrigin

router = APIRouter(prefix="/api/v1/me", tags=["backup codes"])
ANSWERS: dict[int | str, dict[str, str]] = {
    403: {"description": "reauthentication_required"},
    404: {"description": "no_backup_codes: two-factor authentication is off"},
}


class BackupCodeOut(BaseModel):
    code: str | None = Field(
        description='"1234 5678"; null in hash_only mode, where codes are shown only once'
    )
    used_at: datetime | None


class BackupCodesOut(BaseModel):
    codes: list[BackupCodeOut]
    remaining: int
    created_at: datetime


@contextmanager
def _caller_account(ctx: Ctx, caller: Caller) -> Iterator[tuple[Session, User, LoginSession]]:
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        session = db.get(LoginSession, caller.session_id)
        if user is None or session is None:
            raise NotAuthenticated()
        yield db, user, session


@router.get("/backup-codes", responses=ANSWERS)
def view_backup_codes(
    ctx: Ctx, origin: RequestOrigin, caller: ApiCaller, response: Response
) -> BackupCodesOut:
    """The current set, used codes with when they were used. The user is alerted.

    In hash_only mode every `code` is null: codes are shown once, when they are made, and
    only their used state can be seen again.
    """
    response.headers["Cache-Control"] = "no-store"
    with _caller_account(ctx, caller) as (db, user, session):
        sheet = service.view_backup_codes(db, ctx, origin, user, session, via="api")
    return BackupCodesOut(
        codes=[BackupCodeOut(code=c.code, used_at=c.used_at) for c in sheet.codes],
        remaining=sheet.remaining,
        created_at=sheet.created_at,
    )


@router.post("/backup-codes", status_code=status.HTTP_201_CREATED, responses=ANSWERS)
def get_new_backup_codes(
    ctx: Ctx, origin: RequestOrigin, caller: ApiCaller, response: Response
) -> BackupCodesOut:
    """Get new codes: the whole old set stops working at once. The user is alerted."""
    response.headers["Cache-Control"] = "no-store"
    with _caller_account(ctx, caller) as (db, user, session):
        codes = service.regenerate_backup_codes(db, ctx, origin, user, session)
    return BackupCodesOut(
        codes=[BackupCodeOut(code=code, used_at=None) for code in codes],
        remaining=len(codes),
        created_at=ctx.clock.now(),
    )
