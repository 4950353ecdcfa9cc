"""The person behind a request, as a route receives them: one dependency per kind of route.

    @router.post(PAGE, dependencies=[Depends(check_csrf)])
    def turn_off(request: Request, me: RecentlyConfirmedPageAccount) -> Response:
        service.turn_off_two_factor(me.db, me.ctx, me.origin, me.user)
        return redirect_to(request, "two_factor_page")

The dependency opens the route's one unit of work, finds the live session and its person
in it, and raises when there is none: LoginRequired, or ReauthenticationRequired when the
route changes something sensitive and the person has not confirmed it's them in the last
few minutes. web/errors.py turns both into a redirect there and back for a page, or
problem+json for the API; the route itself never checks. The unit of work ends (commit,
or rollback on a crash) when the route returns, before the response is sent.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import settle_time_zone
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.core.errors import LoginRequired, NotAuthenticated
from mamori.sessions.errors import PasswordChangeRequired
from mamori.sessions.http import NEW_PASSWORD_API, SESSION_COOKIE, bearer
from mamori.sessions.models import LoginSession
from mamori.sessions.service import find_session, require_recent_reauthentication
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import browser_zone, cookie_name, request_locale


def unit_of_work(ctx: Ctx) -> Iterator[Session]:
    """One transaction for the whole route: the session lookup, the person, the change."""
    with ctx.database.session() as db:
        yield db


def reading_unit_of_work(ctx: Ctx) -> Iterator[Session]:
    """The same for a route that only reads: on SQLite it takes no write lock."""
    with ctx.database.session(read_only=True) as db:
        yield db


# "function": the unit of work is committed before the response goes out, so the next
# request the browser makes (after a redirect, say) already sees what this one changed.
Db = Annotated[Session, Depends(unit_of_work, scope="function")]
ReadDb = Annotated[Session, Depends(reading_unit_of_work, scope="function")]


@dataclass(frozen=True)
class SignedIn:
    """A logged-in person, with what a service call needs, in the route's unit of work."""

    ctx: Context
    db: Session
    origin: Origin
    session: LoginSession
    user: User

    @property
    def user_id(self) -> int:
        return self.user.id

    @property
    def session_id(self) -> int:
        return self.session.id


def _signed_in(ctx: Context, db: Session, origin: Origin, token: str | None) -> SignedIn | None:
    session = find_session(db, ctx.clock, ctx.settings, token or "", origin)
    if session is None:
        return None
    return SignedIn(ctx, db, origin, session, session.user)


def _page_account_any(request: Request, ctx: Ctx, db: Db, origin: RequestOrigin) -> SignedIn:
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    me = _signed_in(ctx, db, origin, token)
    if me is None:
        raise LoginRequired()
    # Times on the page are the person's own (the first page after a login settles it).
    locale = request_locale(request)
    request.state.time_zone = settle_time_zone(me.user, browser_zone(request), locale)
    return me


def page_account(me: Annotated[SignedIn, Depends(_page_account_any)]) -> SignedIn:
    """A session held by "This wasn't me" counts as logged out on every page but the one
    that sets the new password."""
    if me.session.must_change_password:
        raise LoginRequired()
    return me


def page_viewer(request: Request, ctx: Ctx, db: Db, origin: RequestOrigin) -> SignedIn | None:
    """For a page open to everyone (the front door, the login page): who is looking, if
    anyone is logged in. Never raises."""
    token = request.cookies.get(cookie_name(request, SESSION_COOKIE))
    me = _signed_in(ctx, db, origin, token)
    return None if me is None or me.session.must_change_password else me


def recently_confirmed(me: SignedIn) -> SignedIn:
    require_recent_reauthentication(me.ctx.clock, me.ctx.settings, me.session)
    return me


def recently_confirmed_page_account(
    me: Annotated[SignedIn, Depends(page_account)],
) -> SignedIn:
    return recently_confirmed(me)


def _bearer_account(
    ctx: Context, db: Session, origin: Origin, credentials: HTTPAuthorizationCredentials | None
) -> SignedIn:
    me = _signed_in(ctx, db, origin, credentials.credentials if credentials else None)
    if me is None:
        raise NotAuthenticated()
    return me


def _api_account_any(
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> SignedIn:
    return _bearer_account(ctx, db, origin, credentials)


async def api_account(me: Annotated[SignedIn, Depends(_api_account_any)]) -> SignedIn:
    # async: no I/O here, so no trip to the thread pool.
    if me.session.must_change_password:
        raise PasswordChangeRequired(set_password=NEW_PASSWORD_API)
    return me


def _api_reader_any(
    ctx: Ctx,
    db: ReadDb,
    origin: RequestOrigin,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> SignedIn:
    return _bearer_account(ctx, db, origin, credentials)


async def api_reader(me: Annotated[SignedIn, Depends(_api_reader_any)]) -> SignedIn:
    """api_account for a route that changes nothing (its unit of work only reads)."""
    return await api_account(me)


def recently_confirmed_api_account(
    me: Annotated[SignedIn, Depends(api_account)],
) -> SignedIn:
    return recently_confirmed(me)


PageAccount = Annotated[SignedIn, Depends(page_account)]
PageViewer = Annotated[SignedIn | None, Depends(page_viewer)]
RecentlyConfirmedPageAccount = Annotated[SignedIn, Depends(recently_confirmed_page_account)]
PageAccountSettingPassword = Annotated[SignedIn, Depends(_page_account_any)]
ApiAccount = Annotated[SignedIn, Depends(api_account)]
ApiReader = Annotated[SignedIn, Depends(api_reader)]
RecentlyConfirmedApiAccount = Annotated[SignedIn, Depends(recently_confirmed_api_account)]
ApiAccountSettingPassword = Annotated[SignedIn, Depends(_api_account_any)]
