"""Named errors, mapped once to RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from redis import exceptions as redis_errors
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

log = logging.getLogger("mamori")

PROBLEM = "application/problem+json"
HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


# Redis errors that mean "the store cannot serve now", not a bug of ours: unreachable or
# too slow, something else answering at its address, a replica after a failover (read
# only), out of memory. Any other Redis error stays a 500 with its trace in the log.
THROTTLE_STORE_DOWN: tuple[type[Exception], ...] = (
    redis_errors.ConnectionError,
    redis_errors.TimeoutError,
    redis_errors.InvalidResponse,
    redis_errors.ReadOnlyError,
    redis_errors.OutOfMemoryError,
)


class MamoriError(Exception):
    """Base of every error a user or client may see. Subclasses set code, status, title."""

    code = "error"
    status = 400
    title = "Request failed"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra
        # Placeholders in `detail` ("Use at least %(min)s characters"): the detail stays
        # the message id pages translate; API clients get it filled in.
        self.values: dict[str, object] = {}

    def headers(self) -> dict[str, str]:
        return {}

    def message(self) -> str:
        if not self.values:
            return self.detail
        try:
            return self.detail % self.values
        except (KeyError, ValueError, TypeError):
            return self.detail


class InvalidRequest(MamoriError):
    code, status, title = "invalid_request", 422, "The request is not valid"


class NotAuthenticated(MamoriError):
    code, status, title = "not_authenticated", 401, "Log in first"

    def headers(self) -> dict[str, str]:
        # RFC 9110 §15.5.2 / RFC 6750 §3: a 401 names the scheme that would work.
        return {"WWW-Authenticate": 'Bearer realm="mamori"'}


class ReauthenticationRequired(MamoriError):
    code, status, title = "reauthentication_required", 403, "Confirm it's you first"


class NotFound(MamoriError):
    code, status, title = "not_found", 404, "Not found"


class TooManyAttempts(MamoriError):
    code, status, title = "too_many_attempts", 429, "Too many attempts; try again later"

    def __init__(self, retry_after_seconds: int, detail: str | None = None) -> None:
        super().__init__(detail, retry_after=max(1, retry_after_seconds))
        self.retry_after_seconds = max(1, retry_after_seconds)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


class ServiceUnavailable(MamoriError):
    code, status, title = "service_unavailable", 503, "Temporarily unavailable; try again soon"


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


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "RFC 9457 problem details; `code` is stable, `title` and `detail` are prose.",
    "type": "object",
    "required": ["type", "title", "status", "code"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "code": {"type": "string"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "With `invalid_request`: which fields, and why",
            "items": {
                "type": "object",
                "properties": {"field": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
        "retry_after": {"type": "integer", "description": "With `too_many_attempts`"},
    },
}


def document_problems(schema: dict[str, Any]) -> dict[str, Any]:
    """Make the OpenAPI schema say what clients get: every error is problem+json.

    FastAPI documents its own `{"detail": [...]}` validation body, which mamori never
    sends; and a route behind a bearer token can always answer 401.
    """
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    problem_content = {PROBLEM: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            if operation.get("security"):
                responses.setdefault("401", {"description": "not_authenticated"})
            for status, response in responses.items():
                if status[:1] in {"4", "5"}:
                    response["content"] = problem_content
            if responses.get("422", {}).get("description") == "Validation Error":
                responses["422"]["description"] = "invalid_request"
    for unused in ("HTTPValidationError", "ValidationError"):
        components.pop(unused, None)
    return schema


def _wants_page(request: Request) -> bool:
    """A browser asking for a page (not the JSON API, not a probe like /readyz)."""
    if request.url.path.startswith("/api/"):
        return False
    return "text/html" in request.headers.get("accept", "")


def install_error_handlers(app: FastAPI) -> None:
    generate_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        return document_problems(generate_openapi())

    app.openapi = openapi  # type: ignore[method-assign]

    @app.exception_handler(MamoriError)
    async def _mamori_error(request: Request, exc: MamoriError) -> JSONResponse:
        return _mamori_problem(exc)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        if _refused_for_want_of_a_token(request):
            return _mamori_problem(NotAuthenticated())
        return problem(
            422,
            "invalid_request",
            "The request is not valid",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            if _refused_for_want_of_a_token(request):
                return _mamori_problem(NotAuthenticated())
            # A body FastAPI cannot even decode (bytes that are not UTF-8, JSON nested too
            # deep): the same answer as any other malformed body, the 422 every route with
            # a body documents, rather than a 400 none of them does.
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
        return problem(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=headers,
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable: %s", exc.__class__.__name__)
        return _unavailable(request)

    # The throttle store (Redis) away: as the database away, a 503 to retry, never a 500;
    # redis-py reconnects on the next command, so the instance recovers by itself.
    async def _throttle_store_down(request: Request, exc: Exception) -> Response:
        log.error("throttle store (Redis) unavailable: %s", exc.__class__.__name__)
        return _unavailable(request)

    for store_down in THROTTLE_STORE_DOWN:
        app.add_exception_handler(store_down, _throttle_store_down)

    @app.exception_handler(DataError)
    async def _refused_value(request: Request, exc: DataError) -> JSONResponse:
        # A value the database refuses (a NUL byte on PostgreSQL, a number out of range)
        # that validation missed: the unit of work was rolled back, nothing was stored.
        # Still a bug to fix where the input enters, hence the trace in the log.
        log.warning("input refused by the database on %s", request.url.path, exc_info=exc)
        return problem(422, "invalid_request", InvalidRequest.title)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Something went wrong on our side")


def _unavailable(request: Request) -> Response:
    """503 with Retry-After: a page for a browser, problem+json for everyone else."""
    retry = {"Retry-After": "5"}
    if _wants_page(request):
        # A person in a browser gets a page in their language, not JSON.
        from mamori.web.templating import error_text, render

        page = render(
            request,
            "message.html",
            status_code=503,
            heading=error_text(request, ServiceUnavailable()),
            message="",
            back=request.url.path,
        )
        page.headers.update(retry)
        return page
    return problem(503, "service_unavailable", ServiceUnavailable.title, headers=retry)


def _mamori_problem(exc: MamoriError) -> JSONResponse:
    return problem(exc.status, exc.code, exc.title, exc.message(), exc.headers(), **exc.extra)


def _refused_for_want_of_a_token(request: Request) -> bool:
    """A body that does not parse, sent to a route behind a token without a live session.

    FastAPI parses the body before it runs any dependency, so the 401 must come from here:
    else an anonymous client could probe each route's validation rules before logging in."""
    from mamori.sessions.http import unauthenticated_api_request  # sessions builds on core

    return unauthenticated_api_request(request)


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


# Second-factor answers shared by every method (DESIGN.md "Backup codes", API contract v1).
class InvalidCode(MamoriError):
    code, status, title = "invalid_code", 400, "That code isn't valid"


class CodeAlreadyUsed(MamoriError):
    code, status, title = "code_already_used", 409, "That code was already used"

    def __init__(self, used_at: datetime) -> None:
        super().__init__(used_at=used_at.isoformat())
        self.used_at = used_at


class ChallengeExpired(MamoriError):
    code, status, title = "challenge_expired", 410, "This login attempt expired; start again"
