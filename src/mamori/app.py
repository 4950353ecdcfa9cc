"""create_app(settings): the one place that wires routers, middleware and the lifespan."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import BaseRoute
from swagger_ui_bundle import swagger_ui_path

from mamori import __version__
from mamori.accounts_center import api as accounts_center_api
from mamori.accounts_center import views as accounts_center_views
from mamori.backup_codes import api as backup_codes_api
from mamori.backup_codes import views as backup_codes_views
from mamori.bootstrap import build_context
from mamori.confirm_identity import api as confirm_identity_api
from mamori.confirm_identity import views as confirm_identity_views
from mamori.contact_details import api as contact_details_api
from mamori.contact_details import views as contact_details_views
from mamori.context import Context
from mamori.front_door import views as front_door_views
from mamori.login import api as login_api
from mamori.login import views as login_views
from mamori.notifications import api as notifications_api
from mamori.notifications.delivery import DeliveryWorker
from mamori.observability import api as observability_api
from mamori.observability.logs import stamp_records_with_the_request_id
from mamori.observability.metrics import count_committed_audit_events
from mamori.observability.middleware import RequestObservation
from mamori.oidc import api as oidc_api
from mamori.oidc import views as oidc_views
from mamori.oidc.backchannel import queue_backchannel_logouts
from mamori.oidc.housekeeping import forget_expired
from mamori.passkeys import api as passkeys_api
from mamori.passkeys import views as passkeys_views
from mamori.recovery import api as recovery_api
from mamori.recovery import views as recovery_views
from mamori.security import api as security_api
from mamori.security import review as security_review
from mamori.security import views as security_views
from mamori.security_checkup import api as security_checkup_api
from mamori.security_checkup import views as security_checkup_views
from mamori.sessions.http import unauthenticated_api_request
from mamori.settings import Settings
from mamori.sign_up import api as sign_up_api
from mamori.sign_up import views as sign_up_views
from mamori.support import api as support_api
from mamori.support import views as support_views
from mamori.support.service import body_limit as support_body_limit
from mamori.trusted_contacts import api as trusted_contacts_api
from mamori.trusted_contacts import views as trusted_contacts_views
from mamori.two_factor import api as two_factor_api
from mamori.two_factor import views as two_factor_views
from mamori.web.errors import install_error_handlers
from mamori.web.security import BodySizeLimit, SecurityHeaders
from mamori.web.templating import make_environment, pages_by_name
from mamori.where_logged_in import api as where_logged_in_api
from mamori.where_logged_in import views as where_logged_in_views

STATIC = Path(__file__).resolve().parent / "web" / "static"


API_ROUTERS = (
    sign_up_api.router,
    accounts_center_api.router,
    login_api.router,
    where_logged_in_api.router,
    confirm_identity_api.router,
    notifications_api.router,
    two_factor_api.router,
    security_api.router,
    security_checkup_api.router,
    backup_codes_api.router,
    passkeys_api.router,
    recovery_api.router,
    contact_details_api.router,
    trusted_contacts_api.router,
    support_api.router,
    oidc_api.router,
    observability_api.router,
)
# Pages are linked to by name (templating.page_path), so each name is one page's.
PAGE_ROUTERS = (
    front_door_views.router,
    sign_up_views.router,
    accounts_center_views.router,
    login_views.router,
    where_logged_in_views.router,
    confirm_identity_views.router,
    two_factor_views.router,
    security_views.router,
    security_checkup_views.router,
    backup_codes_views.router,
    passkeys_views.router,
    recovery_views.router,
    security_review.router,
    contact_details_views.router,
    trusted_contacts_views.router,
    support_views.router,
    oidc_views.router,
)


def create_app(
    settings: Settings | None = None,
    context: Context | None = None,
    *,
    deliver_in_background: bool = False,
) -> FastAPI:
    """Build the ASGI app. The database must already be migrated (`mamori migrate`).

    `deliver_in_background` runs the outbox's delivery worker while the app lives;
    `mamori serve` asks for it (MAMORI_DELIVERY_WORKER), an app built for a test does not."""
    ctx = context or build_context(settings or Settings())
    app = FastAPI(
        title="mamori",
        version=__version__,
        summary="Account security: login, two-factor authentication, backup codes, recovery",
        docs_url=None,
        redoc_url=None,
        lifespan=_delivery_worker(ctx) if deliver_in_background else None,
    )
    app.state.ctx = ctx
    app.state.templates = make_environment()
    install_error_handlers(app, unauthenticated_api_request)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=ctx.settings.max_body_bytes,
        # Only the two routes that take evidence files get a larger limit.
        larger=dict.fromkeys(
            (support_api.CASES, support_views.OPEN_CASE), support_body_limit(ctx.settings)
        ),
    )
    app.add_middleware(SecurityHeaders, https_only=ctx.settings.base_url.startswith("https"))
    # Outermost, so the request id, the access log and the latency cover every answer.
    app.add_middleware(RequestObservation, trusted_proxies=tuple(ctx.settings.trusted_proxies))
    count_committed_audit_events(ctx.database.sessions)
    stamp_records_with_the_request_id()

    app.router.routes.extend(_prepared_routes())
    app.state.pages = pages_by_name(PAGE_ROUTERS)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.state.pages["static"] = app.router.routes[-1]
    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")
    _add_operational_routes(app, ctx)
    return app


@functools.cache
def _prepared_routes() -> tuple[BaseRoute, ...]:
    """Every feature's routes, included once per process. FastAPI prepares a route's
    parameters (a pydantic validator for each) on the first request that passes it, about
    150 ms for all of mamori's; apps built in one process (each test builds its own) share
    the prepared routes instead of preparing them again. No app-level setting reaches a
    route here: mamori sets none (no dependency overrides, the default response class)."""
    routes = APIRouter()
    for router in (*API_ROUTERS, *PAGE_ROUTERS):
        routes.include_router(router)
    return tuple(routes.routes)


def _delivery_worker(ctx: Context) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # Apps are told of ended sessions through the same outbox (back-channel logout).
        worker = DeliveryWorker(ctx, before_each_round=(queue_backchannel_logouts, forget_expired))
        worker.start()
        try:
            yield
        finally:
            await asyncio.to_thread(worker.stop)

    return lifespan


def _add_operational_routes(app: FastAPI, ctx: Context) -> None:
    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        # Served from the package, never a CDN (mamori must run offline); no inline
        # script, so the page lives under the same CSP as every other.
        return HTMLResponse(DOCS_PAGE)


DOCS_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>mamori API</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="/docs-assets/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs-assets/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script></body></html>
"""
