"""Pages: the security checkup, and marking it reviewed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from mamori.core.i18n import translator
from mamori.security.service import mark_reviewed as mark_reviewed_by
from mamori.security_checkup.present import finding_view
from mamori.security_checkup.service import CHECKUP_PAGE, run_checkup
from mamori.sessions.signed_in import PageAccount
from mamori.web.templating import check_csrf, redirect_to, render, request_locale

router = APIRouter(include_in_schema=False)


@router.get(CHECKUP_PAGE)
def checkup_page(request: Request, me: PageAccount, reviewed: str = "") -> Response:
    _ = translator(request_locale(request))
    checkup = run_checkup(me.db, me.ctx, me.user)
    return render(
        request,
        "security_checkup/checkup.html",
        checkup=checkup,
        findings=[finding_view(f, _) for f in checkup.findings],
        reviewed=bool(reviewed),
    )


@router.post(f"{CHECKUP_PAGE}/reviewed", dependencies=[Depends(check_csrf)])
def mark_reviewed(request: Request, me: PageAccount) -> Response:
    mark_reviewed_by(me.db, me.ctx, me.origin, me.user_id)
    return redirect_to(request, "checkup_page", query={"reviewed": "1"})
