"""Log lines: one JSON object per line (production) or plain text (development).

Every line written while a request is answered carries its request id, so a 503 in the
access log leads to the "database unavailable" line that caused it.
"""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Literal

from mamori.web.security import HideSecretsInPaths

# Set by the request middleware for the time of one request; copied into worker threads.
current_request_id: ContextVar[str | None] = ContextVar("mamori_request_id", default=None)

# Fields the access log adds through `extra=`; copied into the JSON object when present.
REQUEST_FIELDS = ("method", "route", "status", "duration_ms", "client_ip")
_STANDARD = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def stamp_records_with_the_request_id() -> None:
    """Every log record created while a request is answered carries its id, whichever
    handler (the JSON one, a test's, a library's) later writes it."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "stamps_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get()
        return record

    factory.stamps_request_id = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = current_request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or current_request_id.get(),
        }
        for field in REQUEST_FIELDS:
            if field in vars(record):
                entry[field] = vars(record)[field]
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s [%(request_id)s] %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        record.request_id = getattr(record, "request_id", None) or current_request_id.get() or "-"
        return super().format(record)


class HideSecretPaths(logging.Filter):
    """The secret-bearing path prefixes the views register for uvicorn's access log
    (web/security.py `hide_secret_paths`) apply to every line mamori writes, e.g. an
    error that names the path it happened on."""

    def filter(self, record: logging.LogRecord) -> bool:
        for registered in logging.getLogger("uvicorn.access").filters:
            if isinstance(registered, HideSecretsInPaths):
                registered.filter(record)
        return True


def logging_config(log_format: Literal["json", "text"]) -> dict[str, Any]:
    """A dictConfig for uvicorn (`log_config=`): each worker applies it when it starts.

    uvicorn's own access log is replaced by `mamori.access`, written by the request
    middleware with the route template rather than the path (some paths carry a secret)."""
    formatter = "mamori.observability.logs.JsonFormatter"
    if log_format == "text":
        formatter = "mamori.observability.logs.TextFormatter"
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "mamori",
        "filters": ["request_id", "secret_paths"],
        "stream": "ext://sys.stderr",
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {
            "request_id": {"()": "mamori.observability.logs.RequestIdFilter"},
            "secret_paths": {"()": "mamori.observability.logs.HideSecretPaths"},
        },
        "formatters": {"mamori": {"()": formatter}},
        "handlers": {"mamori": handler},
        "loggers": {
            "mamori": {"handlers": ["mamori"], "level": "INFO", "propagate": False},
            "uvicorn": {"handlers": ["mamori"], "level": "INFO", "propagate": False},
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
        },
    }
