"""JSON route: the security overview of the caller's account."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import BaseModel

from mamori.accounts.service import get_user
from mamori.backup_codes.service import remaining_codes
from mamori.core.deps import Ctx
from mamori.core.errors import NotAuthenticated
from mamori.sessions.http import ApiCaller
from mamori.sessions.service import active_sessions
from mamori.two_factor import service as two_factor

router = APIRouter(prefix="/api/v1/me", tags=["security"])


class TwoFactorOverview(BaseModel):
    enabled: bool
    methods: list[str]
    default_method: str | None


class BackupCodesOverview(BaseModel):
    exists: bool
    remaining: int


class RecoveryOverview(BaseModel):
    email: str | None
    email_confirmed: bool
    phone: str | None
    phone_confirmed: bool


class SecurityOverview(BaseModel):
    two_factor: TwoFactorOverview
    backup_codes: BackupCodesOverview
    recovery: RecoveryOverview
    sessions: int


@router.get("/security")
def security_overview(ctx: Ctx, caller: ApiCaller) -> SecurityOverview:
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        if user is None:
            raise NotAuthenticated()
        preferences = two_factor.two_factor_settings(db, user.id)
        methods = two_factor.enabled_factors(db, user.id)
        remaining = remaining_codes(db, user.id)
        sessions = active_sessions(db, ctx.clock, ctx.settings, user.id)
        return SecurityOverview(
            two_factor=TwoFactorOverview(
                enabled=bool(preferences and methods),
                methods=methods,
                default_method=preferences.default_method if preferences else None,
            ),
            backup_codes=BackupCodesOverview(
                exists=remaining is not None, remaining=remaining or 0
            ),
            recovery=RecoveryOverview(
                email=user.email,
                email_confirmed=user.email_confirmed_at is not None,
                phone=user.phone,
                phone_confirmed=user.phone_confirmed_at is not None,
            ),
            sessions=len(sessions),
        )
