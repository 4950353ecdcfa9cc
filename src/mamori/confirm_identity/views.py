"""Page: "Confirm it's you" (the password again) before a sensitive change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.core.errors import MamoriError
from mamori.sessions.reauthentication import reauthenticate_with_password
from mamori.sessions.signed_in import PageAccount
from mamori.web import limits
from mamori.web.templating import check_csrf, render, render_with_error, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/reauthenticate")
def reauthenticate_page(request: Request, me: PageAccount, next: str = "/") -> Response:
    return render(request, "confirm_identity/reauthenticate.html", next=safe_next(next))


@router.post("/reauthenticate", dependencies=[Depends(check_csrf)])
def reauthenticate(
    request: Request,
    me: PageAccount,
    password: str = Form(max_length=limits.MAX_PASSWORD),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    try:
        reauthenticate_with_password(me.db, me.ctx, me.origin, me.session_id, password)
    except MamoriError as error:
        return render_with_error(
            request, "confirm_identity/reauthenticate.html", error, next=safe_next(next)
        )
    return RedirectResponse(safe_next(next), status_code=303)
