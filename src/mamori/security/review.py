"""Page: the security review, where a recovery or "This wasn't me" leads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from mamori.accounts.service import get_user
from mamori.backup_codes.service import remaining_codes
from mamori.sessions.http import WebCaller
from mamori.sessions.service import active_sessions
from mamori.two_factor import service as two_factor
from mamori.web.deps import Ctx
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
REVIEW = "/accounts/center/security-review"


@router.get(REVIEW)
def security_review(request: Request, ctx: Ctx, caller: WebCaller) -> Response:
    if caller is None:
        return RedirectResponse(f"/login?next={REVIEW}", status_code=303)
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        factors = two_factor.enabled_factors(db, caller.user_id)
        codes_left = remaining_codes(db, caller.user_id)
        sessions = active_sessions(db, ctx.clock, ctx.settings, caller.user_id)
    return render(
        request,
        "security/review.html",
        user=user,
        factors=factors,
        codes_left=codes_left,
        other_sessions=len(sessions) - 1,
    )
