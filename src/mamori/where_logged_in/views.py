"""Page: where you're logged in (end one session or all others), with the login activity."""

from __future__ import annotations

from contextlib import suppress

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import Response

from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.security.present import activity_view
from mamori.security.service import ACTIVITY_DAYS, login_activity
from mamori.sessions import service
from mamori.sessions.devices import describe_device
from mamori.sessions.signed_in import PageAccount
from mamori.web import limits
from mamori.web.templating import check_csrf, redirect_to, render, request_locale

router = APIRouter(include_in_schema=False)
SESSIONS = "/accounts/center/password-and-security/sessions"


# What the list says after a change it was sent back to (Post/Redirect/Get).
DONE = {"one", "others"}


@router.get(SESSIONS)
def sessions_page(request: Request, me: PageAccount, done: str = "") -> Response:
    _ = translator(request_locale(request))
    sessions = service.active_sessions(me.db, me.ctx.clock, me.ctx.settings, me.user_id)
    events = login_activity(me.db, me.ctx, me.user_id)
    rows = [
        {
            "session": s,
            "device": describe_device(s.user_agent, _),
            "current": s.id == me.session_id,
        }
        for s in sessions
    ]
    # The current session first: "this device" is what a person looks for.
    rows.sort(key=lambda row: not row["current"])
    return render(
        request,
        "where_logged_in/sessions.html",
        rows=rows,
        activity=[activity_view(event, _) for event in events],
        days=ACTIVITY_DAYS,
        done=done if done in DONE else None,
    )


@router.get(f"{SESSIONS}/end-others")
def end_others_page(request: Request, me: PageAccount) -> Response:
    """Asks first: every other phone and browser will have to log in again."""
    others = len(service.active_sessions(me.db, me.ctx.clock, me.ctx.settings, me.user_id)) - 1
    if others < 1:
        return redirect_to(request, "sessions_page")
    return render(request, "where_logged_in/confirm_end_others.html", others=others)


@router.post(f"{SESSIONS}/end", dependencies=[Depends(check_csrf)])
def end_one_or_others(
    request: Request,
    me: PageAccount,
    session_id: str = Form("", max_length=limits.MAX_NAME_OR_ID),
) -> Response:
    """One session by its id, else all others (the form on end_others_page, which asks
    first)."""
    if session_id:
        # Already ended or not theirs: the list they land on shows the truth.
        with suppress(MamoriError):
            service.end_session_by_id(me.db, me.ctx.clock, me.origin, me.user_id, session_id)
        return redirect_to(request, "sessions_page", query={"done": "one"})
    service.end_other_sessions(me.db, me.ctx.clock, me.origin, me.user_id, me.session)
    return redirect_to(request, "sessions_page", query={"done": "others"})
