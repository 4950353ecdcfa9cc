"""Pages: Accounts Center → Password and security → Two-factor authentication → Other
methods → Backup codes: see them again, download, print, get new codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.backup_codes import service
from mamori.backup_codes.errors import NoBackupCodes
from mamori.core.errors import NotAuthenticated, ReauthenticationRequired
from mamori.core.i18n import format_moment, translator
from mamori.sessions.http import Caller, WebCaller
from mamori.sessions.models import LoginSession
from mamori.sessions.service import require_recent_reauthentication
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import check_csrf, render, request_locale

router = APIRouter(include_in_schema=False)
PAGE = service.SECURITY_PAGE
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"backup-codes.css": "text/css", "backup-codes.js": "text/javascript"}


@contextmanager
def _account(ctx: Ctx, caller: Caller) -> Iterator[tuple[Session, User, LoginSession]]:
    with ctx.database.session() as db:
        user = get_user(db, caller.user_id)
        session = db.get(LoginSession, caller.session_id)
        if user is None or session is None:
            raise NotAuthenticated()
        yield db, user, session


def _to_login() -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(PAGE)}", status_code=303)


def _to_reauthenticate() -> RedirectResponse:
    return RedirectResponse(f"/reauthenticate?next={quote(PAGE)}", status_code=303)


def _view(
    ctx: Ctx, origin: RequestOrigin, caller: Caller, via: str
) -> tuple[User, service.BackupCodeSheet] | RedirectResponse:
    try:
        with _account(ctx, caller) as (db, user, session):
            if service.remaining_codes(db, user.id) is None:
                raise NoBackupCodes()  # before asking for a password for nothing
            return user, service.view_backup_codes(db, ctx, origin, user, session, via=via)
    except ReauthenticationRequired:
        return _to_reauthenticate()


@router.get(PAGE)
def backup_codes_page(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller
) -> Response:
    if caller is None:
        return _to_login()
    try:
        viewed = _view(ctx, origin, caller, "page")
    except NoBackupCodes:
        return render(request, "backup_codes/codes.html", sheet=None)
    if isinstance(viewed, Response):
        return viewed
    user, sheet = viewed
    return render(request, "backup_codes/codes.html", user=user, sheet=sheet)


@router.get(f"{PAGE}.txt")
def download_backup_codes(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller
) -> Response:
    """A text file with the account and the date inside. hash_only mode keeps no codes
    to put in it: the page explains that instead."""
    if caller is None:
        return _to_login()
    try:
        viewed = _view(ctx, origin, caller, "download")
    except NoBackupCodes:
        return RedirectResponse(PAGE, status_code=303)
    if isinstance(viewed, Response):
        return viewed
    user, sheet = viewed
    if not sheet.viewable:
        return RedirectResponse(PAGE, status_code=303)
    locale = request_locale(request)
    text = request.app.state.templates.get_template("backup_codes/codes.txt").render(
        _=translator(locale),
        when=lambda moment: format_moment(moment, locale),
        user=user,
        codes=sheet.codes,
        created_at=sheet.created_at,
        now=ctx.clock.now(),
    )
    filename = f"mamori-backup-codes-{user.username}-{ctx.clock.now():%Y-%m-%d}.txt"
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(f"{PAGE}/print")
def print_backup_codes(
    request: Request, ctx: Ctx, origin: RequestOrigin, caller: WebCaller
) -> Response:
    if caller is None:
        return _to_login()
    try:
        viewed = _view(ctx, origin, caller, "print")
    except NoBackupCodes:
        return RedirectResponse(PAGE, status_code=303)
    if isinstance(viewed, Response):
        return viewed
    user, sheet = viewed
    if not sheet.viewable:
        return RedirectResponse(PAGE, status_code=303)
    return render(request, "backup_codes/print.html", user=user, sheet=sheet, now=ctx.clock.now())


@router.post(f"{PAGE}/new", dependencies=[Depends(check_csrf)])
def get_new_backup_codes(
    request: Request,
    ctx: Ctx,
    origin: RequestOrigin,
    caller: WebCaller,
    confirm: str = Form("", max_length=limits.MAX_CHOICE),
) -> Response:
    """First POST asks "are you sure?"; the second (confirm=yes) replaces the set."""
    if caller is None:
        return _to_login()
    try:
        with _account(ctx, caller) as (db, user, session):
            if confirm != "yes":
                require_recent_reauthentication(ctx.clock, ctx.settings, session)
                return render(request, "backup_codes/confirm_new.html")
            codes = service.regenerate_backup_codes(db, ctx, origin, user, session)
    except ReauthenticationRequired:
        return _to_reauthenticate()
    except NoBackupCodes as error:
        return render(request, "backup_codes/codes.html", status_code=error.status, sheet=None)
    return render(
        request, "backup_codes/new.html", user=user, codes=codes, created_at=ctx.clock.now()
    )


def _asset(name: str) -> FileResponse:
    return FileResponse(
        STATIC / name, media_type=ASSETS[name], headers={"Cache-Control": "public, max-age=3600"}
    )


@router.get("/assets/backup-codes.css")
def backup_codes_stylesheet() -> Response:
    return _asset("backup-codes.css")


@router.get("/assets/backup-codes.js")
def backup_codes_script() -> Response:
    return _asset("backup-codes.js")
