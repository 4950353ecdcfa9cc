"""Helpers the foundation tests share: pages with their CSRF token, row counts, variants
of the test context (other settings, Redis counters, another client address)."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import event, func, select
from typer.testing import CliRunner, Result

from mamori.app import create_app
from mamori.audit.models import AuditEvent
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.core.throttle import Counters, Throttle

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(page: Response) -> str:
    match = CSRF_FIELD.search(page.text)
    assert match, f"no CSRF field on {page.url}"
    return html.unescape(match.group(1))


def shown(page: Response) -> str:
    """A page's text as a person reads it (entities such as &#39; decoded)."""
    return html.unescape(page.text)


def submit(client: TestClient, page_path: str, action: str, **fields: str) -> Response:
    """What a browser does: open the page, then post its form with the token in it."""
    token = csrf_from(client.get(page_path))
    response: Response = client.post(
        action, data={"csrf_token": token, **fields}, follow_redirects=False
    )
    return response


def web_sign_up(client: TestClient, username: str, password: str, **fields: str) -> Response:
    return submit(client, "/signup", "/signup", username=username, password=password, **fields)


def web_log_in(client: TestClient, login: str, password: str, next: str = "/") -> Response:
    return submit(client, "/login", "/login", login=login, password=password, next=next)


def count(ctx: Context, model: type[Any]) -> int:
    with ctx.database.session() as db:
        return int(db.scalar(select(func.count()).select_from(model)) or 0)


def events(ctx: Context, name: str | None = None) -> list[AuditEvent]:
    """Audit events, oldest first."""
    with ctx.database.session() as db:
        query = select(AuditEvent).order_by(AuditEvent.id)
        if name is not None:
            query = query.where(AuditEvent.event == name)
        found = list(db.scalars(query))
        db.expunge_all()
        return found


def statements_run(ctx: Context, action: Callable[[], object]) -> list[str]:
    """The SQL statements `action` sent to the database, in order, without their values."""
    seen: list[str] = []

    def note(_connection: Any, _cursor: Any, statement: str, *_rest: Any) -> None:
        seen.append(statement)

    event.listen(ctx.database.engine, "before_cursor_execute", note)
    try:
        action()
    finally:
        event.remove(ctx.database.engine, "before_cursor_execute", note)
    return seen


def with_settings(ctx: Context, **changes: Any) -> Context:
    settings = ctx.settings.model_copy(update=changes)
    return dataclasses.replace(ctx, settings=settings)


def with_counters(ctx: Context, counters: Counters) -> Context:
    return dataclasses.replace(ctx, throttle=Throttle(counters, ctx.clock))


@contextmanager
def app_client(
    ctx: Context,
    base_url: str = "http://localhost",
    peer: tuple[str, int] = ("testclient", 50000),
    raise_server_exceptions: bool = True,
) -> Iterator[TestClient]:
    app = create_app(context=ctx)
    with TestClient(
        app, base_url=base_url, client=peer, raise_server_exceptions=raise_server_exceptions
    ) as client:
        yield client


def clock_of(ctx: Context) -> MovableClock:
    assert isinstance(ctx.clock, MovableClock)
    return ctx.clock


def problem(response: Response, status: int, code: str) -> dict[str, Any]:
    """Assert an RFC 9457 answer with this status and stable code; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    assert body["status"] == status
    assert body["title"]
    return body


def run_cli(ctx: Context, *args: str) -> Result:
    """`mamori …` as an operator runs it, against the test's database and data directory."""
    from mamori.cli import app

    environment = {
        "MAMORI_DATABASE_URL": ctx.database.url,
        "MAMORI_DATA_DIR": str(ctx.settings.data_dir),
        "MAMORI_ENV": ctx.settings.env,
        "MAMORI_REDIS_URL": "",
    }
    return CliRunner().invoke(app, list(args), env=environment)


@dataclasses.dataclass(frozen=True)
class RouteInfo:
    methods: frozenset[str]
    path: str
    in_schema: bool
    body_fields: tuple[str, ...] = ()
    query_fields: tuple[str, ...] = ()


def _fields(dependant: Any, kind: str) -> tuple[str, ...]:
    """The names a route reads from the body or the query, its dependencies' included."""
    if dependant is None:
        return ()
    names = [field.alias for field in getattr(dependant, kind, [])]
    for sub in getattr(dependant, "dependencies", []):
        names.extend(_fields(sub, kind))
    return tuple(dict.fromkeys(names))


def routes(app: Any) -> list[RouteInfo]:
    """Every route the app answers, whichever way FastAPI keeps included routers."""

    def walk(items: Any) -> Iterator[Any]:
        for route in items:
            if hasattr(route, "effective_route_contexts"):
                yield from route.effective_route_contexts()
            else:
                yield route

    return [
        RouteInfo(
            frozenset(getattr(r, "methods", None) or ()),
            r.path,
            bool(getattr(r, "include_in_schema", False)),
            _fields(getattr(r, "dependant", None), "body_params"),
            _fields(getattr(r, "dependant", None), "query_params"),
        )
        for r in walk(app.routes)
        if hasattr(r, "path")
    ]
