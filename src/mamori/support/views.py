"""Pages: open a support case ("Can't log in?" → the last resort), the link an approved
case sends, and the operators' queue."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from sqlalchemy.orm import Session
from starlette.background import BackgroundTask
from starlette.datastructures import FormData, Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.core.errors import InvalidRequest, MamoriError
from mamori.core.i18n import translator
from mamori.recovery.errors import RecoveryExpired
from mamori.recovery.service import recovery_status
from mamori.sessions.signed_in import Db, PageAccount, SignedIn, recently_confirmed
from mamori.support import service
from mamori.support.api import send_notices
from mamori.support.errors import NotAnOperator
from mamori.support.models import STATUSES
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.security import hide_secret_paths
from mamori.web.templating import (
    check_csrf,
    cookie_name,
    error_text,
    is_https,
    page_path,
    redirect_to,
    render,
    render_with_error,
    request_locale,
)

router = APIRouter(include_in_schema=False)
OPEN_CASE = "/recovery/support"
QUEUE = "/operator/support"
# The lead's recovery pages read the recovery from this cookie (recovery/views.py).
RECOVERY_COOKIE = "mamori_recovery"
REFERENCE = Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_NAME_OR_ID)
FORM_FIELDS = ("csrf_token", "login", "contact_email", "what_happened")


hide_secret_paths(service.APPROVED_LINK)


# --- opening a case (no login: the person can't log in) ----------------------------------


@router.get(OPEN_CASE)
def open_case_page(request: Request) -> Response:
    return render(request, "support/open.html", form={}, max_files=service.MAX_FILES)


class _InMemoryForm(MultiPartParser):
    """Evidence stays in memory until it is sealed: never spooled to a temporary file in
    clear. The request size limit bounds it."""

    def __init__(self, headers: Headers, request: Request, limit: int) -> None:
        super().__init__(
            headers, request.stream(), max_files=10, max_fields=10, max_part_size=64 * 1024
        )
        self.spool_max_size = limit


async def _read_form(request: Request, limit: int) -> FormData:
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await _InMemoryForm(request.headers, request, limit).parse()
    return await request.form(max_files=0, max_fields=10)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _uploads(form: FormData) -> list[service.Upload]:
    files = [item for item in form.getlist("evidence") if isinstance(item, UploadFile)]
    return [service.Upload(item.filename or "", await item.read()) for item in files]


@router.post(OPEN_CASE)
async def open_case(request: Request, ctx: Ctx, db: Db, origin: RequestOrigin) -> Response:
    try:
        form = await _read_form(request, service.body_limit(ctx.settings))
    except MultiPartException as exc:
        raise InvalidRequest() from exc
    values = {name: _text(form, name)[:5000] for name in FORM_FIELDS}
    # As every form's: a missing or wrong token is a 403 problem (CsrfFailed), an overlong
    # one a 422, before anything else is looked at.
    if len(values["csrf_token"]) > 128:
        raise InvalidRequest()
    check_csrf(request, values["csrf_token"])
    try:
        uploads = await _uploads(form)
        reference = await run_in_threadpool(_open, db, ctx, origin, values, uploads, request)
    except MamoriError as error:
        return render_with_error(
            request, "support/open.html", error, form=values, max_files=service.MAX_FILES
        )
    response = render(request, "support/opened.html", reference=reference)
    # After the answer: only a matched account is alerted, so the time must not tell.
    response.background = BackgroundTask(send_notices, ctx, origin, reference)
    return response


def _open(
    db: Session,
    ctx: Context,
    origin: Origin,
    values: dict[str, str],
    uploads: Sequence[service.Upload],
    request: Request,
) -> str:
    return service.open_support_case(
        db,
        ctx,
        origin,
        login=values["login"],
        contact_email=values["contact_email"],
        what_happened=values["what_happened"],
        evidence=uploads,
        locale=request_locale(request),
    )


# --- the link an approved case sends ------------------------------------------------------


@router.get(service.APPROVED_LINK + "{token}")
def approved_link(
    request: Request,
    ctx: Ctx,
    db: Db,
    token: str = Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_TOKEN),
) -> Response:
    """Hand the recovery to the new-password step: the token moves from the link into an
    HttpOnly cookie, and the path that carried it is never sent on as a Referer."""
    try:
        found = recovery_status(db, ctx, token)
    except RecoveryExpired as error:
        response: Response = render_with_error(request, "support/link_expired.html", error)
    else:
        response = redirect_to(request, "recovery_new_password_page")
        lifetime = int((found.expires_at - ctx.clock.now()).total_seconds())
        response.set_cookie(
            cookie_name(request, RECOVERY_COOKIE),
            token,
            max_age=max(60, lifetime),
            httponly=True,
            secure=is_https(request),
            samesite="lax",
            path="/",
        )
    response.headers["referrer-policy"] = "no-referrer"
    response.headers["cache-control"] = "no-store"
    return response


# --- the operators' queue ------------------------------------------------------------------


def _not_an_operator(request: Request) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "message.html",
        status_code=NotAnOperator.status,
        heading=_("This page is for operators only"),
        message=_("Your account can't work the support queue."),
        back=page_path(request, "accounts_center"),
    )


def _operator(me: SignedIn) -> User:
    return service.require_operator(me.db, me.user)


@router.get(QUEUE)
def queue_page(request: Request, me: PageAccount, status: str = "open") -> Response:
    chosen = status if status in STATUSES else "open"
    try:
        _operator(me)
        cases = service.list_cases(me.db, status=chosen)
    except NotAnOperator:
        return _not_an_operator(request)
    return render(request, "support/queue.html", cases=cases, status=chosen, statuses=STATUSES)


def _case_page(
    request: Request, me: SignedIn, reference: str, error: MamoriError | None = None
) -> Response:
    """The case, or the same page again with what went wrong when a decision failed."""
    try:
        operator = _operator(me)
        case = service.view_case(me.db, me.ctx, me.origin, reference, operator=operator, via="page")
    except NotAnOperator:
        return _not_an_operator(request)
    except MamoriError as failed:
        return _queue_error(request, failed)
    own = case.summary.account == operator.username
    if error is not None:
        return render_with_error(request, "support/case.html", error, case=case, own=own)
    return render(request, "support/case.html", case=case, own=own)


def _queue_error(request: Request, error: MamoriError) -> Response:
    _ = translator(request_locale(request))
    return render(
        request,
        "message.html",
        status_code=error.status,
        heading=_("Support queue"),
        message=error_text(request, error),
        back=page_path(request, "queue_page"),
    )


@router.get(QUEUE + "/{reference}")
def case_page(request: Request, me: PageAccount, reference: str = REFERENCE) -> Response:
    return _case_page(request, me, reference)


@router.get(QUEUE + "/{reference}/evidence/{position}")
def evidence_file(
    request: Request,
    me: PageAccount,
    reference: str = REFERENCE,
    position: int = Path(ge=0, lt=100),
) -> Response:
    """An attachment that nothing sniffs and a sandbox CSP: opened directly, a PDF or an
    image from a stranger never renders as a document in mamori's origin. The case page
    shows photos through <img>, which runs nothing."""
    try:
        operator = _operator(me)
        info, data = service.open_evidence(
            me.db, me.ctx, me.origin, reference, position, operator=operator, via="page"
        )
    except NotAnOperator:
        return _not_an_operator(request)
    except MamoriError as error:
        return _queue_error(request, error)
    ascii_name = re.sub(r"[^A-Za-z0-9._-]", "_", info.filename)[:100] or "evidence"
    return Response(
        data,
        media_type=info.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(info.filename, safe='')}",
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
            "Content-Security-Policy": "default-src 'none'; sandbox",
        },
    )


def _decide(
    request: Request,
    me: SignedIn,
    reference: str,
    decide: Callable[[User], object],
) -> Response:
    try:
        operator = _operator(me)
    except NotAnOperator:
        return _not_an_operator(request)
    # Checked after the role, as it always was: an account without it is told so, not
    # first sent to "Confirm it's you" for a page it can't use.
    recently_confirmed(me)
    try:
        decide(operator)
    except NotAnOperator:
        return _not_an_operator(request)
    except MamoriError as error:
        return _case_page(request, me, reference, error)
    return redirect_to(request, "case_page", reference=reference)


@router.post(QUEUE + "/{reference}/approve", dependencies=[Depends(check_csrf)])
def approve(
    request: Request,
    me: PageAccount,
    reference: str = REFERENCE,
    note: str = Form("", max_length=limits.MAX_FREE_TEXT),
) -> Response:
    return _decide(
        request,
        me,
        reference,
        lambda operator: service.approve_case(
            me.db, me.ctx, me.origin, reference, operator=operator, note=note
        ),
    )


@router.post(QUEUE + "/{reference}/deny", dependencies=[Depends(check_csrf)])
def deny(
    request: Request,
    me: PageAccount,
    reference: str = REFERENCE,
    reason: str = Form("", max_length=limits.MAX_FREE_TEXT),
) -> Response:
    return _decide(
        request,
        me,
        reference,
        lambda operator: service.deny_case(
            me.db, me.ctx, me.origin, reference, operator=operator, reason=reason
        ),
    )
