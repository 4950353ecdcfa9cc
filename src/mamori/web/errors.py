"""Errors mapped once to HTTP: RFC 9457 problem+json for clients, a page for browsers."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mamori.core.errors import (
    PROBLEM,
    THROTTLE_STORE_DOWN,
    InvalidRequest,
    LoginRequired,
    MamoriError,
    NotAuthenticated,
    ReauthenticationRequired,
    ServiceUnavailable,
    document_problems,
)
from mamori.core.i18n import translator
from mamori.web.templating import (
    TOO_LONG,
    error_text,
    fields_of,
    missing_text,
    page_path,
    redirect_to,
    render,
    request_locale,
)

log = logging.getLogger("mamori")

HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def problem(
    status: int,
    code: str,
    title: str,
    detail: str | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status, "code": code}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Never echo the input back: it may be a password, or 10 MB of it.
    return [
        {"field": _field(err.get("loc", ()), err["type"]), "reason": err["type"]}
        for err in exc.errors()[:20]
    ]


def _field(location: tuple[Any, ...], reason: str) -> str:
    # A body that is not JSON at all names no field (its loc is a character offset).
    if reason == "json_invalid":
        return ""
    return ".".join(str(part) for part in location if part != "body")


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _wants_page(request: Request) -> bool:
    """A page route, or a browser asking for a page (not the JSON API, not a probe such
    as /readyz: those answer problem+json)."""
    if _is_api(request):
        return False
    route = request.scope.get("route")
    pages = getattr(request.app.state, "pages", {})
    if route is not None and route in pages.values():
        return True
    return "text/html" in request.headers.get("accept", "")


def return_page(request: Request) -> str:
    """Where a person comes back to after logging in or confirming it's them.

    The page they asked for; for a form they sent, the page that shows that form: the
    same path when a page is served there, else the nearest parent path that is one
    (a POST to .../two-factor/off comes back to .../two-factor)."""
    if request.method in ("GET", "HEAD"):
        query = request.url.query
        return f"{request.url.path}?{query}" if query else request.url.path
    path = request.url.path
    while path:
        if _serves_page(request, path):
            return path
        path = path.rsplit("/", 1)[0]
    return "/"


def _is_page(request: Request, path: str) -> bool:
    """A page route (app.state.pages) answers GET at `path`: not the API, not a probe."""
    scope = {**request.scope, "method": "GET", "path": path}
    pages = getattr(request.app.state, "pages", {}).values()
    return any(route.matches(scope)[0] == Match.FULL for route in pages)


def _serves_page(request: Request, path: str) -> bool:
    scope = {**request.scope, "method": "GET", "path": path}
    return any(route.matches(scope)[0] == Match.FULL for route in request.app.router.routes)


def install_error_handlers(app: FastAPI, unauthenticated: Callable[[Request], bool]) -> None:
    """Map every error once. `unauthenticated` tells a request without a live session: a
    body that does not parse, sent to a route behind a token by such a request, is a 401.
    FastAPI parses the body before it runs any dependency, so the 401 must come from here:
    else an anonymous client could probe each route's validation rules before logging in.
    (The sessions feature knows what a live session is and sits above web, hence the
    parameter.)"""
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return document_problems(generate_openapi())

    app.openapi = openapi  # type: ignore[method-assign]
    app.state.unauthenticated = unauthenticated
    handlers: dict[type[Exception], Callable[[Request, Any], Awaitable[Response]]] = {
        MamoriError: _mamori_error,
        LoginRequired: _login_required,
        ReauthenticationRequired: _confirm_first,
        RequestValidationError: _invalid,
        StarletteHTTPException: _http,
        OperationalError: _database_down,
        **dict.fromkeys(THROTTLE_STORE_DOWN, _throttle_store_down),
        DataError: _refused_value,
        Exception: _unexpected,
    }
    for error, handler in handlers.items():
        app.add_exception_handler(error, handler)


async def _mamori_error(request: Request, exc: MamoriError) -> Response:
    if request.method == "POST" and _wants_page(request):
        # A form's error its route did not catch (a throttle, an expired form): the same
        # page again with the message, beside the field it is about.
        target = _form_page(request)
        state = {"page_error": error_text(request, exc), "page_error_fields": fields_of(exc)}
        again = await _page_again(request, target, state, exc.status) if target else None
        if again is not None:
            for name, value in exc.headers().items():
                again.headers[name] = value
            return again
    return _page_or(request, _mamori_problem(exc), lambda: (error_text(request, exc), ""))


# A page route that needs a logged-in person, or one who just confirmed it's them, sends
# the browser there and back; the API answers with the problem itself.
async def _login_required(request: Request, exc: LoginRequired) -> Response:
    if _is_api(request):
        return _mamori_problem(exc)
    return redirect_to(request, "login_page", query={"next": return_page(request)})


async def _confirm_first(request: Request, exc: ReauthenticationRequired) -> Response:
    if _is_api(request):
        return _mamori_problem(exc)
    return redirect_to(request, "reauthenticate_page", query={"next": return_page(request)})


def _without_session(request: Request) -> bool:
    return bool(request.app.state.unauthenticated(request))


async def _invalid(request: Request, exc: RequestValidationError) -> Response:
    if _without_session(request):
        return _mamori_problem(NotAuthenticated())
    answer = problem(
        422,
        "invalid_request",
        "The request is not valid",
        errors=_validation_errors(exc),
    )
    if request.method == "POST" and _wants_page(request):
        again = await _form_again(request, exc)
        if again is not None:
            return again
    return _page_or(request, answer, lambda: _texts(request, 422))


# Never sent back into the page: a secret, or the token the page makes anew.
NOT_REFILLED = ("password", "current_password", "new_password", "code", "csrf_token")


async def _form_again(request: Request, exc: RequestValidationError) -> Response | None:
    """A form a browser sent that does not parse (a field missing or too long): the page
    that shows it, again, with the message beside each field, in the person's language,
    and what they typed. The page is the one the form was sent from (its Referer, when it
    is one of ours), else the page for the form's own address (`return_page`). Pages
    answer GET the same every time (the language switch relies on it), so asking the app
    for that page again shows the person the same step with the same state. None: no
    such page (the error page then says what to do)."""
    _ = translator(request_locale(request))
    errors: dict[str, str] = {}
    for error in exc.errors():
        location = error.get("loc", ())
        if len(location) != 2 or location[0] != "body":
            return None
        name = str(location[1])
        if error["type"] == "string_too_long":
            limit = (error.get("ctx") or {}).get("max_length", 0)
            errors.setdefault(name, _(TOO_LONG, max=limit))
        else:
            errors.setdefault(name, missing_text(_, name))
    body = exc.body
    typed = {
        name: value
        for name, value in (body.items() if hasattr(body, "items") else ())
        if isinstance(value, str) and name not in NOT_REFILLED and len(value) <= 254
    }
    target = _form_page(request)
    if target is None:
        return None
    return await _page_again(request, target, {"field_errors": errors, "form_values": typed})


def _form_page(request: Request) -> str | None:
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if parts.netloc == request.url.netloc and parts.path and _is_page(request, parts.path):
        return parts.path + (f"?{parts.query}" if parts.query else "")
    page = return_page(request)
    return page if page != "/" or request.url.path == "/" else None


async def _page_again(
    request: Request, target: str, state: dict[str, Any], status: int = 422
) -> Response | None:
    """GET `target` inside this request, with `state` for the page; its answer with a 422,
    or None when it is not a page (a redirect: the form belongs to no page at that path)."""
    path, _, query = target.partition("?")
    scope = {
        key: value
        for key, value in request.scope.items()
        if key not in ("route", "endpoint", "path_params", "router", "fastapi_astack")
    }
    scope.update(
        method="GET",
        path=path,
        raw_path=path.encode(),
        query_string=query.encode(),
        headers=[
            (name, value)
            for name, value in request.scope["headers"]
            if name not in (b"content-type", b"content-length")
        ],
        state={**request.scope.get("state", {}), **state},
    )
    sent: dict[str, Any] = {"body": b""}

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent["status"], sent["headers"] = message["status"], message.get("headers", [])
        elif message["type"] == "http.response.body":
            sent["body"] += message.get("body", b"")

    try:
        await request.app.router(scope, receive, send)
    except Exception:  # the page itself cannot be shown: the error page says why
        log.warning("form page %s could not be shown again", path, exc_info=True)
        return None
    headers = dict(sent.get("headers", []))
    if sent.get("status") != 200 or not headers.get(b"content-type", b"").startswith(b"text/html"):
        return None
    page = Response(sent["body"], status_code=status)
    page.raw_headers = list(sent["headers"])
    return page


async def _http(request: Request, exc: StarletteHTTPException) -> Response:
    if exc.status_code == 400:
        if _without_session(request):
            return _mamori_problem(NotAuthenticated())
        # A body FastAPI cannot even decode (bytes that are not UTF-8, JSON nested too
        # deep): the same answer as any other malformed body, the 422 every route with a
        # body documents, rather than a 400 none of them does.
        return problem(
            422,
            "invalid_request",
            InvalidRequest.title,
            errors=[{"field": "", "reason": "json_invalid"}],
        )
    codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405:
        headers = {**(headers or {}), "Allow": _allowed_methods(request)}
    answer = problem(
        exc.status_code,
        codes.get(exc.status_code, "http_error"),
        str(exc.detail),
        headers=headers,
    )
    return _page_or(request, answer, lambda: _texts(request, exc.status_code))


async def _database_down(request: Request, exc: OperationalError) -> Response:
    log.error("database unavailable: %s", exc.__class__.__name__)
    return _unavailable(request)


# The throttle store (Redis) away: as the database away, a 503 to retry, never a 500;
# redis-py reconnects on the next command, so the instance recovers by itself.
async def _throttle_store_down(request: Request, exc: Exception) -> Response:
    log.error("throttle store (Redis) unavailable: %s", exc.__class__.__name__)
    return _unavailable(request)


async def _refused_value(request: Request, exc: DataError) -> Response:
    # A value the database refuses (a NUL byte on PostgreSQL, a number out of range) that
    # validation missed: the unit of work was rolled back, nothing was stored. Still a bug
    # to fix where the input enters, hence the trace in the log.
    log.warning("input refused by the database on %s", request.url.path, exc_info=exc)
    answer = problem(422, "invalid_request", InvalidRequest.title)
    return _page_or(request, answer, lambda: _texts(request, 422))


async def _unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return crash_answer(request)


def crash_answer(request: Request) -> Response:
    """The 500 for a bug: words and a way back for a person, problem+json for a client;
    never the exception itself."""
    answer = problem(500, "internal_error", "Something went wrong on our side")
    return _page_or(request, answer, lambda: _texts(request, 500))


def _unavailable(request: Request) -> Response:
    """503 with Retry-After: a page for a browser, problem+json for everyone else."""
    retry = {"Retry-After": "5"}
    answer = problem(503, "service_unavailable", ServiceUnavailable.title, headers=retry)
    return _page_or(request, answer, lambda: (error_text(request, ServiceUnavailable()), ""))


# What a person reads when a page cannot be shown: a heading and what to do next
# (gettext ids). The 422 and 500 texts can say nothing was changed: the unit of work
# was rolled back (a crash) or never began (a form that does not parse).
PAGE_TEXTS = {
    404: ("This page doesn't exist", "The address may be mistyped, or the page may have moved."),
    405: ("This page can't be opened this way", "Go back and use the buttons on the page."),
    413: ("What you sent is too large", "Go back and send something smaller."),
    422: (
        "Some of the form is missing or too long",
        "Nothing was changed. Go back, fill in every field and send it again.",
    ),
    500: (
        "Something went wrong on our side",
        "Nothing was changed. Please try again in a moment.",
    ),
}


def _texts(request: Request, status: int) -> tuple[str, str]:
    _ = translator(request_locale(request))
    heading, message = PAGE_TEXTS.get(status, PAGE_TEXTS[500])
    return _(heading), _(message)


def _page_or(
    request: Request, answer: JSONResponse, texts: Callable[[], tuple[str, str]]
) -> Response:
    """A person in a browser gets a page in their language with a way back, never JSON:
    `texts` gives its heading and what to do. Every other client gets the problem+json
    `answer` (same status, same headers)."""
    if not _wants_page(request):
        return answer
    heading, message = texts()
    # Unavailable for a moment: the way on is the same page again.
    retry = answer.status_code == 503
    back = return_page(request) if retry or request.method == "POST" else page_path(request, "home")
    page = render(
        request,
        "error.html",
        status_code=answer.status_code,
        heading=heading,
        message=message,
        back=back,
        retry=retry,
    )
    for name in ("retry-after", "allow"):
        if name in answer.headers:
            page.headers[name] = answer.headers[name]
    return page


def _mamori_problem(exc: MamoriError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.title, exc.message(), exc.headers(), **exc.extra)


def _allowed_methods(request: Request) -> str:
    """Every method some route serves at this path (RFC 9110 §15.5.6).

    Starlette names only the first route whose path matches: a PUT to /me/two-factor/totp
    answered `Allow: POST` although DELETE /me/two-factor/{method} serves it too."""
    routes = request.app.router.routes
    methods = [
        method
        for method in HTTP_METHODS
        if any(
            route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes
        )
    ]
    return ", ".join(methods)
