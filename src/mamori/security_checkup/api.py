"""JSON routes: the security checkup, and marking it reviewed."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from mamori.core.i18n import translator
from mamori.security.service import mark_reviewed as mark_reviewed_by
from mamori.security_checkup.present import finding_view
from mamori.security_checkup.service import run_checkup
from mamori.sessions.signed_in import ApiAccount
from mamori.web.templating import request_locale

router = APIRouter(prefix="/api/v1", tags=["security"])


class FindingOut(BaseModel):
    code: str = Field(description="Stable, e.g. two_factor_off, sms_only, backup_codes_low")
    status: Literal["ok", "warning", "risk"]
    title: str = Field(description="In the caller's language (Accept-Language)")
    fix: str | None = Field(description="What fixes it, in the caller's language")
    fix_url: str | None = Field(description="The page where it is fixed")


class CheckupOut(BaseModel):
    grade: Literal["good", "fair", "at_risk"]
    reviewed_at: datetime | None
    findings: list[FindingOut]


class Reviewed(BaseModel):
    reviewed_at: datetime


@router.get("/me/security/checkup")
def security_checkup(request: Request, me: ApiAccount) -> CheckupOut:
    _ = translator(request_locale(request))
    checkup = run_checkup(me.db, me.ctx, me.user)
    findings = [finding_view(f, _) for f in checkup.findings]
    return CheckupOut(
        grade=checkup.grade,
        reviewed_at=checkup.reviewed_at,
        findings=[FindingOut(**vars(f)) for f in findings],
    )


@router.post("/me/security/checkup/reviewed")
def mark_reviewed(me: ApiAccount) -> Reviewed:
    return Reviewed(reviewed_at=mark_reviewed_by(me.db, me.ctx, me.origin, me.user_id))
