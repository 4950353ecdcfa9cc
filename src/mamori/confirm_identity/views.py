"""Page: "Confirm it's you" (the password again) before a sensitive change."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from mamori.core.errors import MamoriError
from mamori.sessions.http import WebCaller
from mamori.sessions.reauthentication import reauthenticate_with_password
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, error_text, render, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/reauthenticate")
def reauthenticate_page(request: Request, caller: WebCaller, next: str = "/") -> Response:
    if caller is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "confirm_identity/reauthenticate.html", next=safe_next(next))


@router.post("/reauthenticate", dependencies=[Depends(check_csrf)])
def reauthenticate(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    password: str = Form(max_length=limits.MAX_PASSWORD),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    if caller is None:
        return RedirectResponse("/login", status_code=303)
    try:
        with ctx.database.session() as db:
            reauthenticate_with_password(db, ctx, origin, caller.session_id, password)
    except MamoriError as error:
        return render(
            request,
            "confirm_identity/reauthenticate.html",
            status_code=error.status,
            error=error_text(request, error),
            next=safe_next(next),
        )
    return RedirectResponse(safe_next(next), status_code=303)
