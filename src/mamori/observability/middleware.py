"""The outermost middleware: a request id, the access log line and the latency metric.

The route is the template the router matched (`/recovery/cancel/{token}`), never the path:
some paths carry a bearer secret, and a label per path would grow without bound.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.requests import Request
from starlette.routing import Mount
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mamori.core.errors import PROBLEM
from mamori.core.net import client_ip
from mamori.observability.logs import current_request_id
from mamori.observability.metrics import observe_request
from mamori.web.errors import crash_answer

access_log = logging.getLogger("mamori.access")

HEADER = b"x-request-id"
# An id from a proxy or client is kept only when it cannot forge or break a log line.
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"


def offered_request_id(headers: list[tuple[bytes, bytes]]) -> str | None:
    for name, value in headers:
        if name == HEADER:
            text = value.decode("latin-1")
            return text if SANE_REQUEST_ID.fullmatch(text) else None
    return None


def route_template(scope: Scope) -> str:
    route = scope.get("route")
    if isinstance(route, Mount):
        return f"{route.path}/{{path}}"
    template = getattr(route, "path_format", None)
    return template if isinstance(template, str) else UNMATCHED


class RequestObservation:
    def __init__(self, app: ASGIApp, trusted_proxies: tuple[str, ...]) -> None:
        self.app = app
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
        offered = offered_request_id(headers)
        request_id = offered or uuid.uuid4().hex
        token = current_request_id.set(request_id)
        status = 0  # no answer yet
        problem_start: Message | None = None
        problem_body = b""

        async def observed_send(message: Message) -> None:
            nonlocal status, problem_start, problem_body
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", []), (HEADER, request_id.encode())]
                # The body repeats only an id the client chose: one made up here would
                # make two identical requests differ byte for byte, and mamori's answers
                # to known and unknown accounts are meant to be exactly alike.
                if offered and scope["method"] != "HEAD" and _is_problem(message["headers"]):
                    problem_start = message  # held until the body is whole
                    return
            elif message["type"] == "http.response.body" and problem_start is not None:
                problem_body += message.get("body", b"")
                if message.get("more_body", False):
                    return
                body = _with_request_id(problem_body, request_id)
                problem_start["headers"] = [
                    (name, str(len(body)).encode() if name == b"content-length" else value)
                    for name, value in problem_start["headers"]
                ]
                await send(problem_start)
                message = {"type": "http.response.body", "body": body}
            await send(message)

        failed = False
        try:
            await self.app(scope, receive, observed_send)
        except Exception:
            # A bug: the error handler and uvicorn log it further out, still inside this
            # request's context, so their lines keep the request id. The answer is the
            # same 500 problem they would send, plus the id to quote.
            failed = True
            if status == 0:
                await _unexpected_error(scope, receive, observed_send)
            status = 500
            raise
        finally:
            seconds = time.perf_counter() - started
            self._record(scope, headers, status or 500, seconds)
            if not failed:
                current_request_id.reset(token)

    def _record(
        self,
        scope: Scope,
        headers: list[tuple[bytes, bytes]],
        status: int,
        seconds: float,
    ) -> None:
        method = scope["method"] if scope["method"] in METHODS else "other"
        route = route_template(scope)
        observe_request(method, route, status, seconds)
        peer = scope.get("client")
        forwarded = dict(headers).get(b"x-forwarded-for")
        ip = client_ip(
            peer[0] if peer else None,
            forwarded.decode("latin-1") if forwarded else None,
            self.trusted_proxies,
        )
        access_log.info(
            "%s %s %s %.1f ms",
            method,
            route,
            status,
            seconds * 1000,
            extra={
                "method": method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 1),
                "client_ip": ip,
            },
        )


async def _unexpected_error(scope: Scope, receive: Receive, send: Send) -> None:
    response = crash_answer(Request(scope, receive))
    await response(scope, receive, send)


def _is_problem(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(
        name == b"content-type" and value.split(b";")[0].strip() == PROBLEM.encode()
        for name, value in headers
    )


def _with_request_id(body: bytes, request_id: str) -> bytes:
    """RFC 9457 allows extension members: a problem names the request to quote to support."""
    try:
        document = json.loads(body)
    except ValueError:
        return body
    if not isinstance(document, dict):
        return body
    document.setdefault("request_id", request_id)
    return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode()
