"""Page: "Confirm it's you" (the password again, or a passkey) before a sensitive change."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from mamori.core.errors import MamoriError
from mamori.login import service as login_service
from mamori.passkeys.service import has_passkeys
from mamori.sessions.reauthentication import reauthenticate_with_password
from mamori.sessions.signed_in import PageAccount, SignedIn
from mamori.web import limits
from mamori.web.templating import check_csrf, render, render_with_error, safe_next

router = APIRouter(include_in_schema=False)
PAGE = "confirm_identity/reauthenticate.html"


def _values(me: SignedIn, next: str) -> dict[str, Any]:
    return {"next": safe_next(next), "passkey": has_passkeys(me.db, me.user_id)}


@router.get("/reauthenticate")
def reauthenticate_page(request: Request, me: PageAccount, next: str = "/") -> Response:
    return render(request, PAGE, **_values(me, next))


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
        return render_with_error(request, PAGE, error, **_values(me, next))
    return RedirectResponse(safe_next(next), status_code=303)


@router.post("/reauthenticate/passkey-options", dependencies=[Depends(check_csrf)])
def reauthentication_passkey_options(me: PageAccount) -> Response:
    """For the page's script: this person's passkeys, bound to this session."""
    options = login_service.reauthentication_passkey_options(me.db, me.ctx, me.session_id)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post("/reauthenticate/passkey", dependencies=[Depends(check_csrf)])
def reauthenticate_with_passkey(
    request: Request,
    me: PageAccount,
    credential: str = Form(max_length=limits.MAX_CREDENTIAL),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> Response:
    try:
        login_service.reauthenticate_with_second_factor(
            me.db, me.ctx, me.origin, me.session_id, "passkey", credential
        )
    except MamoriError as error:
        return render_with_error(request, PAGE, error, **_values(me, next))
    return RedirectResponse(safe_next(next), status_code=303)
