"""Page: the security review, where a recovery or "This wasn't me" leads."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mamori.backup_codes.service import remaining_codes
from mamori.sessions.service import active_sessions
from mamori.sessions.signed_in import PageAccount
from mamori.two_factor import service as two_factor
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)
REVIEW = "/accounts/center/security-review"


@router.get(REVIEW)
def security_review(request: Request, me: PageAccount) -> Response:
    sessions = active_sessions(me.db, me.ctx.clock, me.ctx.settings, me.user_id)
    return render(
        request,
        "security/review.html",
        user=me.user,
        factors=two_factor.enabled_factors(me.db, me.user_id),
        codes_left=remaining_codes(me.db, me.user_id),
        other_sessions=len(sessions) - 1,
    )
