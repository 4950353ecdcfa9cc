"""Pages that belong to no single feature: the front door and the language switch."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse
from starlette.routing import Match

from mamori.core.i18n import LOCALES
from mamori.sessions.signed_in import PageViewer
from mamori.web import limits
from mamori.web.templating import LANG_COOKIE, check_csrf, is_https, redirect_to, safe_next

router = APIRouter(include_in_schema=False)


@router.get("/")
def home(request: Request, viewer: PageViewer) -> RedirectResponse:
    return redirect_to(request, "accounts_center" if viewer else "login_page")


@router.post("/language", dependencies=[Depends(check_csrf)])
def choose_language(
    request: Request,
    lang: str = Form(max_length=limits.MAX_CHOICE),
    next: str = Form("/", max_length=limits.MAX_NEXT),
) -> RedirectResponse:
    response = RedirectResponse(_page_at(request, safe_next(next)), status_code=303)
    if lang in LOCALES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 24 * 3600,
            samesite="lax",
            httponly=True,
            secure=is_https(request),
            path="/",
        )
    return response


def _page_at(request: Request, target: str) -> str:
    """`target` when a page is served there; for a path only a form is sent to, the
    nearest parent path that is a page (the switch never ends on "Method Not Allowed")."""
    path = target.partition("?")[0]
    if _serves_page(request, path):
        return target
    while path:
        path = path.rsplit("/", 1)[0]
        if _serves_page(request, path or "/"):
            return path or "/"
    return "/"


def _serves_page(request: Request, path: str) -> bool:
    scope = {**request.scope, "method": "GET", "path": path}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)
