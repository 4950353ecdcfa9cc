"""Prometheus metrics: what happened (logins, second factors, throttles, deliveries) and
how long requests took.

Labels only ever carry names from mamori's own code (an event, a method, a policy, a
route template), each checked by `label` (core/metrics.py): never a user id, an address, a path or a
token, so a scrape reveals nothing about anyone and the series stay few.

`mamori serve --workers N` runs N processes. Each writes its counters to files in
PROMETHEUS_MULTIPROC_DIR (`serve` points it at `<data dir>/metrics`, emptied at start),
and /metrics in any worker adds up every worker's files: every scrape sees the whole
server, whichever worker answers it. prometheus_client picks the file-backed values when
it is first imported, so `serve` sets the variable before the workers start.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client import multiprocess as prometheus_multiprocess
from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from mamori.audit.models import AuditEvent
from mamori.core.metrics import label

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
# Decided once, as prometheus_client decides it: both read the variable at import.
MULTIPROCESS = MULTIPROCESS_VARIABLE in os.environ
# The classic text format: what generate_latest writes, and what every Prometheus reads.
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# `*_created` timestamps double every series and no alert needs them.
disable_created_metrics()  # type: ignore[no-untyped-call]

SECOND_FACTOR_METHODS = frozenset({"totp", "sms", "email", "backup_code"})

LOGINS = Counter(
    "mamori_logins",
    "Password logins by outcome: succeeded (a session started), password_failed, "
    "second_factor_required (right password, the second step is next)",
    ["outcome"],
)
SECOND_FACTOR = Counter(
    "mamori_second_factor",
    "Second steps of a login by method (totp, sms, email, backup_code) and outcome "
    "(succeeded, failed) with the reason of a failure",
    ["method", "outcome", "reason"],
)
AUDIT_EVENTS = Counter(
    "mamori_audit_events",
    "Security events written to the audit log, by event and outcome",
    ["event", "outcome"],
)
DELIVERY_FAILURES = Counter(
    "mamori_delivery_failures",
    "Failed hand-overs of a message to SMTP or the SMS provider, by channel and what "
    "followed (retrying, given_up)",
    ["channel", "outcome"],
)
SMS_HELD = Counter(
    "mamori_sms_held",
    "Text messages the SMS cap kept from going out, by kind (alert) and what became of "
    "them: diverted_to_email (the account's e-mail carries the same alert) or waiting "
    "(in the outbox until the cap frees)",
    ["kind", "outcome"],
)
REQUEST_SECONDS = Histogram(
    "mamori_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status class",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


def count_delivery_failure(channel: str, *, given_up: bool) -> None:
    DELIVERY_FAILURES.labels(label(channel), "given_up" if given_up else "retrying").inc()


def count_sms_held(kind: str, outcome: str) -> None:
    SMS_HELD.labels(label(kind), label(outcome)).inc()


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(method, route, f"{status // 100}xx").observe(seconds)


# --- the audit log as the one hook for security events ---------------------------------
#
# A service writes an audit event where the thing happens; counting those rows, once their
# transaction commits, counts logins and second factors without a line in any service,
# and never counts what was rolled back.

_NOTED = "mamori.metrics.audit"


def count_committed_audit_events(sessions: sessionmaker[Session]) -> None:
    """Count the audit events of every unit of work of `sessions` that commits."""
    if event.contains(sessions, "after_commit", _count_noted):
        return
    event.listen(sessions, "after_flush", _note_audit_events)
    event.listen(sessions, "after_commit", _count_noted)
    event.listen(sessions, "after_rollback", _forget_noted)


def _note_audit_events(session: Session, _flush_context: Any) -> None:
    noted = session.info.setdefault(_NOTED, [])
    for entry in session.new:
        if isinstance(entry, AuditEvent):
            noted.append((entry.event, entry.outcome, dict(entry.details or {})))


def _count_noted(session: Session) -> None:
    for name, outcome, details in session.info.pop(_NOTED, []):
        count_audit_event(name, outcome, details)


def _forget_noted(session: Session) -> None:
    session.info.pop(_NOTED, None)


def count_audit_event(name: str, outcome: str, details: dict[str, Any]) -> None:
    AUDIT_EVENTS.labels(label(name), label(outcome)).inc()
    if name == "login.password_failed":
        LOGINS.labels("password_failed").inc()
    elif name == "login.password_accepted":
        LOGINS.labels("second_factor_required").inc()
    elif name == "login.succeeded":
        LOGINS.labels("succeeded").inc()
        factor = str(details.get("factor", ""))
        if factor.startswith("password+"):
            SECOND_FACTOR.labels(_method(factor.removeprefix("password+")), "succeeded", "").inc()
    elif name == "login.second_factor_failed":
        reason = label(details.get("reason"))
        SECOND_FACTOR.labels(_method(details.get("method")), "failed", reason).inc()


def _method(name: object) -> str:
    return name if isinstance(name, str) and name in SECOND_FACTOR_METHODS else "other"


# --- exposition --------------------------------------------------------------------------


def prepare_multiprocess_directory(directory: Path) -> None:
    """An empty directory for the workers' files: counts restart with the server, and
    files of processes from an earlier run never add up with this one's."""
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, mode=0o700)


def exposition() -> bytes:
    """The text format for a scrape: this process's metrics, or every worker's."""
    if not MULTIPROCESS:
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    prometheus_multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return generate_latest(registry)
