"""Pages: the security checkup, and marking it reviewed."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response

from mamori.accounts.service import get_user
from mamori.core.errors import NotAuthenticated
from mamori.core.i18n import translator
from mamori.security.service import REVIEW_PAGE
from mamori.security.service import mark_reviewed as mark_reviewed_by
from mamori.security_checkup.present import finding_view
from mamori.security_checkup.service import CHECKUP_PAGE, run_checkup
from mamori.sessions.http import WebCaller
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, render, request_locale

router = APIRouter(include_in_schema=False)


def _to_login(page: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={page}", status_code=303)


@router.get(CHECKUP_PAGE)
def checkup_page(request: Request, ctx: Ctx, caller: WebCaller, reviewed: str = "") -> Response:
    if caller is None:
        return _to_login(CHECKUP_PAGE)
    _ = translator(request_locale(request))
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        if user is None:
            raise NotAuthenticated()
        checkup = run_checkup(db, ctx, user)
    return render(
        request,
        "security_checkup/checkup.html",
        checkup=checkup,
        findings=[finding_view(f, _) for f in checkup.findings],
        reviewed=bool(reviewed),
        review_page=REVIEW_PAGE,
    )


@router.post(f"{CHECKUP_PAGE}/reviewed", dependencies=[Depends(check_csrf)])
def mark_reviewed(ctx: Ctx, origin: RequestOrigin, caller: WebCaller) -> Response:
    if caller is None:
        return _to_login(CHECKUP_PAGE)
    with ctx.database.session() as db:
        mark_reviewed_by(db, ctx, origin, caller.user_id)
    return RedirectResponse(f"{CHECKUP_PAGE}?reviewed=1", status_code=303)
