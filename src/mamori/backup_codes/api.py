"""JSON routes: view the backup codes again, get new codes.

Spending a code at login is `POST /api/v1/login/{challenge}/verify` with
method=backup_code (the login feature); both routes here need a reauthentication in the
last 10 minutes (`POST /api/v1/me/reauthenticate`), else 403 reauthentication_required.
"""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from mamori.backup_codes import service
from mamori.sessions.signed_in import RecentlyConfirmedApiAccount

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


@router.get("/backup-codes", responses=ANSWERS)
def view_backup_codes(me: RecentlyConfirmedApiAccount, response: Response) -> BackupCodesOut:
    """The current set, used codes with when they were used. The user is alerted.

    In hash_only mode every `code` is null: codes are shown once, when they are made, and
    only their used state can be seen again.
    """
    response.headers["Cache-Control"] = "no-store"
    sheet = service.view_backup_codes(me.db, me.ctx, me.origin, me.user, me.session, via="api")
    return BackupCodesOut(
        codes=[BackupCodeOut(code=c.code, used_at=c.used_at) for c in sheet.codes],
        remaining=sheet.remaining,
        created_at=sheet.created_at,
    )


@router.post("/backup-codes", status_code=status.HTTP_201_CREATED, responses=ANSWERS)
def get_new_backup_codes(me: RecentlyConfirmedApiAccount, response: Response) -> BackupCodesOut:
    """Get new codes: the whole old set stops working at once. The user is alerted."""
    response.headers["Cache-Control"] = "no-store"
    codes = service.regenerate_backup_codes(me.db, me.ctx, me.origin, me.user, me.session)
    return BackupCodesOut(
        codes=[BackupCodeOut(code=code, used_at=None) for code in codes],
        remaining=len(codes),
        created_at=me.ctx.clock.now(),
    )
