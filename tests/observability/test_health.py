"""/healthz says the process answers; /readyz says the database does, or 503 problem+json."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest

from mamori.accounts.passwords import PasswordHasher
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.core.crypto import Keyring
from mamori.core.db import Database
from mamori.core.throttle import DatabaseCounters, Throttle
from mamori.settings import Settings
from tests.core.helpers import app_client, problem
from tests.core.servers import free_port
from tests.notifications.fakes import silent_server


def context_on(database: Database, settings: Settings, keyring: Keyring) -> Context:
    clock = MovableClock()
    return Context(
        settings=settings,
        clock=clock,
        database=database,
        keyring=keyring,
        hasher=PasswordHasher(settings),
        throttle=Throttle(DatabaseCounters(clock), clock),
    )


@pytest.mark.both_databases  # the readiness query runs on both
def test_ready_when_the_database_answers(ctx: Context):
    with app_client(ctx) as client:
        answer = client.get("/readyz")
        assert (answer.status_code, answer.json()) == (200, {"status": "ready"})


def test_postgresql_that_refuses_connections_is_not_ready(settings: Settings, keyring: Keyring):
    down = Database(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/mamori")
    with app_client(context_on(down, settings, keyring)) as client:
        body = problem(client.get("/readyz"), 503, "service_unavailable")
        assert body["detail"] == "The database is not reachable"
        assert client.get("/healthz").json() == {"status": "ok"}  # alive, only not ready


def test_a_database_host_that_never_answers_is_not_ready_either(
    settings: Settings, keyring: Keyring
):
    """A probe must answer: a host that accepts and then says nothing gets 503 after the
    readiness timeout rather than a request that hangs until the TCP timeout."""
    with ExitStack() as later, silent_server() as silent:
        stuck = Database(f"postgresql+psycopg://postgres@127.0.0.1:{silent.port}/mamori")
        later.callback(stuck.engine.dispose)
        client = later.enter_context(app_client(context_on(stuck, settings, keyring)))
        problem(client.get("/readyz"), 503, "service_unavailable")
        problem(client.get("/readyz"), 503, "service_unavailable")
        assert silent.connections == 1  # the second probe joined the first one's wait
        # The host goes away (its connections close), so the waiting thread ends.


def test_a_broken_sqlite_file_is_not_ready_and_recovers_without_a_restart(
    settings: Settings, keyring: Keyring, sqlite_template: Path, tmp_path: Path
):
    path = tmp_path / "mamori.db"
    path.write_bytes(b"this is not a database, it was overwritten" * 100)
    database = Database(f"sqlite:///{path}")
    with app_client(context_on(database, settings, keyring)) as client:
        problem(client.get("/readyz"), 503, "service_unavailable")
        shutil.copy(sqlite_template, path)  # the operator restores the file
        assert client.get("/readyz").json() == {"status": "ready"}
    database.engine.dispose()
