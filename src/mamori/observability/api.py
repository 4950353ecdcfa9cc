"""What a load balancer and a monitoring system ask: /healthz, /readyz and /metrics."""

from __future__ import annotations

import asyncio
import hmac
import logging

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import text

from mamori.context import Context
from mamori.core.errors import NotAuthenticated, NotFound, ServiceUnavailable
from mamori.core.throttle import reach_store
from mamori.observability.metrics import CONTENT_TYPE, exposition

router = APIRouter(include_in_schema=False)
log = logging.getLogger("mamori")

# A readiness probe must answer, not hang on a database host that drops packets.
READY_TIMEOUT_SECONDS = 3.0


@router.get("/healthz")
def healthz() -> dict[str, str]:
    """The process answers: nothing else is checked, so a database outage never gets a
    healthy server restarted."""
    return {"status": "ok"}


@router.get("/readyz")
async def readyz(request: Request) -> JSONResponse:
    """Ready when a query reaches the database and, with Redis, Redis answers a PING;
    otherwise 503 problem+json."""
    try:
        await asyncio.wait_for(asyncio.shield(_probe(request)), READY_TIMEOUT_SECONDS)
    except ThrottleStoreUnreachable as exc:
        log.warning("not ready: throttle store not reachable (%s)", type(exc.__cause__).__name__)
        raise ServiceUnavailable("The throttle store (Redis) is not reachable") from None
    except Exception as exc:  # any failure means "not ready"; the reason goes to the log
        log.warning("not ready: database not reachable (%s)", type(exc).__name__)
        raise ServiceUnavailable("The database is not reachable") from None
    return JSONResponse({"status": "ready"})


def _probe(request: Request) -> asyncio.Future[None]:
    """The probe under way, or a new one: while a database host hangs, probes every few
    seconds share one waiting thread instead of piling up a thread each."""
    state = request.app.state
    running: asyncio.Future[None] | None = getattr(state, "readiness_probe", None)
    if running is None or running.done():
        running = asyncio.ensure_future(asyncio.to_thread(_ping, state.ctx))
        state.readiness_probe = running
    return running


def _ping(ctx: Context) -> None:
    with ctx.database.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    try:
        reach_store(ctx.throttle.counters)
    except Exception as exc:
        raise ThrottleStoreUnreachable from exc


class ThrottleStoreUnreachable(Exception):
    """Redis, where the failure counters are, does not answer."""


@router.get("/metrics")
def metrics(request: Request) -> Response:
    """Prometheus text format. With MAMORI_METRICS_TOKEN set only that bearer token may
    read it; without one it is open in development and absent (404) in production."""
    settings = request.app.state.ctx.settings
    if settings.metrics_token is None:
        if not settings.development:
            raise NotFound()
    else:
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        expected = settings.metrics_token.encode()
        if scheme.lower() != "bearer" or not hmac.compare_digest(given.encode(), expected):
            raise NotAuthenticated("A bearer token is needed to read the metrics")
    return Response(exposition(), media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})
