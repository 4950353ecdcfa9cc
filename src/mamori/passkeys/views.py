"""Pages: Accounts Center → Password and security → Passkeys: the list, adding one (after
"Confirm it's you"), renaming, removing (asks first)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import JSONResponse, Response

from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.passkeys import service
from mamori.passkeys.errors import PasskeyNotFound
from mamori.sessions.signed_in import PageAccount, RecentlyConfirmedPageAccount, SignedIn
from mamori.web import limits
from mamori.web.templating import (
    check_csrf,
    redirect_to,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
PAGE = "/accounts/center/password-and-security/passkeys"


def _list(me: SignedIn) -> dict[str, Any]:
    passkeys = service.passkeys_of(me.db, me.user_id)
    return {"passkeys": passkeys, "limit": service.MAX_PASSKEYS}


@router.get(PAGE)
def passkeys_page(request: Request, me: PageAccount, done: str = "") -> Response:
    _ = translator(request_locale(request))
    notices = {
        "added": _("Passkey added. You can now log in with it."),
        "renamed": _("Passkey renamed."),
        "removed": _("Passkey removed. It can no longer log in."),
    }
    return render(request, "passkeys/list.html", notice=notices.get(done), **_list(me))


@router.get(f"{PAGE}/new")
def new_passkey_page(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
    """ "Confirm it's you" first (a fresh login counts); the browser does the rest."""
    values = _list(me)
    if len(values["passkeys"]) >= service.MAX_PASSKEYS:
        return redirect_to(request, "passkeys_page")
    return render(request, "passkeys/new.html")


@router.post(f"{PAGE}/new/options", dependencies=[Depends(check_csrf)])
def new_passkey_options(me: RecentlyConfirmedPageAccount) -> Response:
    """For the page's script: the options navigator.credentials.create() takes."""
    options = service.registration_options(me.db, me.ctx, me.user, me.session_id)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post(f"{PAGE}/new", dependencies=[Depends(check_csrf)])
def add_passkey(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    credential: str = Form(max_length=limits.MAX_CREDENTIAL),
) -> Response:
    try:
        service.add_passkey(me.db, me.ctx, me.origin, me.user, me.session_id, credential)
    except MamoriError as error:
        return render_with_error(request, "passkeys/new.html", error)
    return redirect_to(request, "passkeys_page", query={"done": "added"})


@router.get(PAGE + "/{passkey_id}")
def passkey_page(request: Request, me: PageAccount, passkey_id: str) -> Response:
    passkey = service.find_passkey(me.db, me.user_id, passkey_id[: limits.MAX_NAME_OR_ID])
    return render(request, "passkeys/passkey.html", passkey=passkey)


@router.post(PAGE + "/{passkey_id}", dependencies=[Depends(check_csrf)])
def rename_passkey(
    request: Request,
    me: PageAccount,
    passkey_id: str,
    name: str = Form(max_length=limits.MAX_NAME_OR_ID * 4),
) -> Response:
    try:
        service.rename_passkey(me.db, me.ctx, me.origin, me.user, passkey_id, name)
    except PasskeyNotFound:
        raise
    except MamoriError as error:
        passkey = service.find_passkey(me.db, me.user_id, passkey_id)
        return render_with_error(
            request, "passkeys/passkey.html", error, passkey=passkey, name=name
        )
    return redirect_to(request, "passkeys_page", query={"done": "renamed"})


@router.get(PAGE + "/{passkey_id}/remove")
def remove_passkey_page(request: Request, me: PageAccount, passkey_id: str) -> Response:
    """Asks first."""
    passkey = service.find_passkey(me.db, me.user_id, passkey_id[: limits.MAX_NAME_OR_ID])
    return render(request, "passkeys/remove.html", passkey=passkey)


@router.post(PAGE + "/{passkey_id}/remove", dependencies=[Depends(check_csrf)])
def remove_passkey(
    request: Request,
    me: RecentlyConfirmedPageAccount,
    passkey_id: str,
    confirm: str = Form("", max_length=limits.MAX_CHOICE),
) -> Response:
    """Removes when confirmed (confirm=yes, from the page that asks first)."""
    if confirm != "yes":
        return redirect_to(request, "remove_passkey_page", passkey_id=passkey_id)
    passkey = service.find_passkey(me.db, me.user_id, passkey_id)
    try:
        service.remove_passkey(me.db, me.ctx, me.origin, me.user, passkey_id)
    except MamoriError as error:
        return render_with_error(request, "passkeys/remove.html", error, passkey=passkey)
    return redirect_to(request, "passkeys_page", query={"done": "removed"})
