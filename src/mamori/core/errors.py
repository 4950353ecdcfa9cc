"""Named errors and their RFC 9457 problem+json shape, with a stable `code`.

Plain data, no HTTP: services raise these; web/errors.py maps them once to responses."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from redis import exceptions as redis_errors

PROBLEM = "application/problem+json"


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


class LoginRequired(NotAuthenticated):
    """A page asked for without a live session: a browser goes to the login page and comes
    back; the API answers as for any missing token."""


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
