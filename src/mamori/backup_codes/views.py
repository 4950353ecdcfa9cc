"""Pages: Accounts Center → Password and security → Two-factor authentication → Other
methods → Backup codes: see them again, download, print, get new codes."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import FileResponse, Response

from mamori.backup_codes import service
from mamori.backup_codes.errors import NoBackupCodes
from mamori.core.i18n import format_moment, translator
from mamori.sessions.signed_in import PageAccount, RecentlyConfirmedPageAccount, SignedIn
from mamori.web import limits
from mamori.web.templating import check_csrf, redirect_to, render, request_locale

router = APIRouter(include_in_schema=False)
PAGE = service.SECURITY_PAGE
STATIC = Path(__file__).resolve().parent / "static"
ASSETS = {"backup-codes.css": "text/css", "backup-codes.js": "text/javascript"}


def _view(me: SignedIn, via: str) -> service.BackupCodeSheet:
    if service.remaining_codes(me.db, me.user_id) is None:
        raise NoBackupCodes()  # before asking for a password for nothing
    return service.view_backup_codes(me.db, me.ctx, me.origin, me.user, me.session, via=via)


@router.get(PAGE)
def backup_codes_page(request: Request, me: PageAccount) -> Response:
    try:
        sheet = _view(me, "page")
    except NoBackupCodes:
        return render(request, "backup_codes/codes.html", sheet=None)
    return render(request, "backup_codes/codes.html", user=me.user, sheet=sheet)


@router.get(f"{PAGE}.txt")
def download_backup_codes(request: Request, me: PageAccount) -> Response:
    """A text file with the account and the date inside. hash_only mode keeps no codes
    to put in it: the page explains that instead."""
    try:
        sheet = _view(me, "download")
    except NoBackupCodes:
        return redirect_to(request, "backup_codes_page")
    if not sheet.viewable:
        return redirect_to(request, "backup_codes_page")
    locale = request_locale(request)
    now = me.ctx.clock.now()
    text = request.app.state.templates.get_template("backup_codes/codes.txt").render(
        _=translator(locale),
        when=lambda moment: format_moment(moment, locale, me.user.time_zone),
        user=me.user,
        codes=sheet.codes,
        created_at=sheet.created_at,
        now=now,
    )
    filename = f"mamori-backup-codes-{me.user.username}-{now:%Y-%m-%d}.txt"
    return Response(
        text,
        media_type="text/plain; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@router.get(f"{PAGE}/print")
def print_backup_codes(request: Request, me: PageAccount) -> Response:
    try:
        sheet = _view(me, "print")
    except NoBackupCodes:
        return redirect_to(request, "backup_codes_page")
    if not sheet.viewable:
        return redirect_to(request, "backup_codes_page")
    return render(
        request, "backup_codes/print.html", user=me.user, sheet=sheet, now=me.ctx.clock.now()
    )


@router.get(f"{PAGE}/new")
def new_backup_codes_page(request: Request, me: PageAccount) -> Response:
    """Asks first: the codes in hand stop working the moment new ones are made."""
    if service.remaining_codes(me.db, me.user_id) is None:
        return redirect_to(request, "backup_codes_page")
    return render(request, "backup_codes/confirm_new.html")


@router.post(f"{PAGE}/new", dependencies=[Depends(check_csrf)])
def get_new_backup_codes(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    confirm: str = Form("", max_length=limits.MAX_CHOICE),
) -> Response:
    """Replaces the set when confirmed (confirm=yes, from the page that asks first); an
    unconfirmed POST is asked first too."""
    if confirm != "yes":
        return render(request, "backup_codes/confirm_new.html")
    try:
        codes = service.regenerate_backup_codes(me.db, me.ctx, me.origin, me.user, me.session)
    except NoBackupCodes as error:
        return render(request, "backup_codes/codes.html", status_code=error.status, sheet=None)
    return render(
        request, "backup_codes/new.html", user=me.user, codes=codes, created_at=me.ctx.clock.now()
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
