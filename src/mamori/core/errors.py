"""Named errors, mapped once to RFC 9457 problem+json with a stable `code`."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("mamori")

PROBLEM = "application/problem+json"


class MamoriError(Exception):
    """Base of every error a user or client may see. Subclasses set code, status, title."""

    code = "error"
    status = 400
    title = "Request failed"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(MamoriError):
    code, status, title = "invalid_request", 422, "The request is not valid"


class NotAuthenticated(MamoriError):
    code, status, title = "not_authenticated", 401, "Log in first"


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
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "reason": err["type"],
        }
        for err in exc.errors()[:20]
    ]


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(MamoriError)
    async def _mamori_error(request: Request, exc: MamoriError) -> JSONResponse:
        return problem(exc.status, exc.code, exc.title, exc.detail, exc.headers(), **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        return problem(
            422,
            "invalid_request",
            "The request is not valid",
            errors=_validation_errors(exc),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}
        return problem(
            exc.status_code,
            codes.get(exc.status_code, "http_error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        from sqlalchemy.exc import OperationalError

        if isinstance(exc, OperationalError):
            log.error("database unavailable: %s", exc.__class__.__name__)
            return problem(
                503, "service_unavailable", ServiceUnavailable.title, headers={"Retry-After": "5"}
            )
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem(500, "internal_error", "Something went wrong on our side")


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
