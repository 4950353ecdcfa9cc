"""Real parts: SQLite always, PostgreSQL and Redis when the environment names them.

MAMORI_TEST_DATABASE_URL (postgresql+psycopg://…) and MAMORI_TEST_REDIS_URL turn on
the PostgreSQL and Redis variants; without them those variants skip with the reason.
.ci/run always sets both and checks they answer, so CI never skips them.
"""

from __future__ import annotations

import os
import secrets
import shutil
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection, text

from mamori.accounts.passwords import PasswordHasher
from mamori.app import create_app
from mamori.audit.models import AuditEvent
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.core.crypto import Keyring
from mamori.core.db import Database
from mamori.core.migrate import upgrade
from mamori.core.throttle import Counters, DatabaseCounters, RedisCounters, Throttle
from mamori.models import Base
from mamori.settings import Settings

# The suite's own processes keep compiled modules (__pycache__, ignored by git) even where
# the environment forbids them (PYTHONDONTWRITEBYTECODE, which the CI machine sets):
# otherwise every worker and every `mamori serve` a test starts compiled all of mamori
# from source again, about half a second of CPU each, some eighty times a run. This file
# is read before pytest-xdist starts its workers, so they and their servers inherit it.
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
sys.dont_write_bytecode = False

POSTGRES_URL = os.environ.get("MAMORI_TEST_DATABASE_URL")
# In CI every variant must run: a missing PostgreSQL, Redis or browser fails, never skips.
REQUIRE_ALL = os.environ.get("MAMORI_REQUIRE_ALL") == "1" or os.environ.get("CI", "").lower() in {
    "true",
    "1",
    "yes",
}
REDIS_URL = os.environ.get("MAMORI_TEST_REDIS_URL")
BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery staple"


def skip_or_fail(reason: str) -> NoReturn:
    if REQUIRE_ALL:
        pytest.fail(f"{reason} (CI or MAMORI_REQUIRE_ALL=1: no variant may skip)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "mamori.db"
    database = Database(f"sqlite:///{path}")
    upgrade(database.engine)
    database.engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    with new_postgres_schema("mamori_test") as schema:
        database = Database(postgres_url(schema))
        upgrade(database.engine)
        database.engine.dispose()
        yield schema


@contextmanager
def empty_postgres_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty schema in the PostgreSQL test database, dropped afterwards:
    for a `mamori serve` that migrates it itself."""
    with new_postgres_schema(prefix) as schema:
        yield postgres_url(schema)


@contextmanager
def new_postgres_schema(prefix: str) -> Iterator[str]:
    """The name of a new schema in the PostgreSQL test database, dropped afterwards."""
    if not POSTGRES_URL:
        skip_or_fail("PostgreSQL variant: set MAMORI_TEST_DATABASE_URL to run it")
    schema = f"{prefix}_{os.getpid()}_{secrets.token_hex(3)}"
    admin = Database(POSTGRES_URL)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield schema
    finally:
        with admin.engine.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.engine.dispose()


def postgres_url(schema: str) -> str:
    """The test database with `schema` first on the search path. Commits don't wait for
    the WAL to reach the disk (synchronous_commit=off): a test never outlives a crash of
    PostgreSQL itself, and waiting for the disk made each commit several milliseconds.
    Every guarantee the tests check (atomic, isolated, visible to the next transaction
    and to other connections) is the same."""
    assert POSTGRES_URL
    joiner = "&" if "?" in POSTGRES_URL else "?"
    return f"{POSTGRES_URL}{joiner}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"


# One Database per worker and backend for the `database` fixture, emptied between tests.
# SQLAlchemy keeps compiled statements per engine, and the dialect learns its server once per
# engine: with a new engine for every test, every statement was compiled again in every
# test (a sixth of the time inside the workers, profiled), and on PostgreSQL every test
# opened new connections too.
_SHARED_DATABASES: dict[str, Database] = {}


def fresh_database(backend: str, request: pytest.FixtureRequest) -> Database:
    """The worker's database for `backend`, as new: SQLite's file replaced by a copy of the
    migrated template, PostgreSQL's tables emptied."""
    if backend == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = template.with_name("test.db")
        database = _SHARED_DATABASES.get(backend)
        if database is None:
            database = _SHARED_DATABASES[backend] = Database(f"sqlite:///{path}")
        # The pool is closed after every test (the fixture's dispose); a connection a
        # test leaked keeps the old file open, never the new one.
        for old in (path, path.with_name("test.db-wal"), path.with_name("test.db-shm")):
            old.unlink(missing_ok=True)
        shutil.copy(template, path)
        return database
    database = _SHARED_DATABASES.get(backend)
    if database is None:
        schema = request.getfixturevalue("postgres_schema")
        database = _SHARED_DATABASES[backend] = Database(postgres_url(schema))
    empty_tables(database)
    return database


def empty_tables(database: Database) -> None:
    """Every row gone and every id back at 1, as after TRUNCATE … RESTART IDENTITY CASCADE
    of every table, but mostly by DELETE: a test leaves a few rows, and TRUNCATE gives each
    of 35 tables new files (about 100 ms a test, against 10 ms). One script, one round
    trip (25 ms a test as 70 statements)."""
    with database.engine.begin() as connection:
        connection.exec_driver_sql(_emptying_script(database, connection))


_EMPTYING_SCRIPTS: dict[str, str] = {}


def _emptying_script(database: Database, connection: Connection) -> str:
    """Built once per database (its URL names the schema) and kept."""
    script = _EMPTYING_SCRIPTS.get(database.url)
    if script is None:
        quote = connection.dialect.identifier_preparer.format_table
        audit = AuditEvent.__table__
        # Truncated, and first: its trigger refuses DELETE and UPDATE (append-only), and
        # deleting a person would set their audit rows' user_id to NULL.
        statements = [f"TRUNCATE {quote(audit)}"]
        statements += [
            f"DELETE FROM {quote(table)}"
            for table in reversed(Base.metadata.sorted_tables)
            if table is not audit
        ]
        sequences = connection.execute(
            text(
                "SELECT quote_ident(sequence_name) FROM information_schema.sequences"
                " WHERE sequence_schema = current_schema()"
            )
        ).scalars()
        statements += [f"SELECT setval('{sequence}', 1, false)" for sequence in sequences]
        script = _EMPTYING_SCRIPTS[database.url] = ";\n".join(statements)
    return script


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """SQLite for a test whose outcome cannot depend on storage; SQLite and PostgreSQL for
    one marked `@pytest.mark.both_databases` (or a module with that `pytestmark`): it races
    or locks (FOR UPDATE, BEGIN IMMEDIATE, advisory locks), counts in a throttle or send
    quota (upserts), relies on a constraint or unique index, reads what a dump reveals, or
    feeds text PostgreSQL may refuse (NUL bytes, hostile input, fuzzing). When unsure, mark
    it: a missing mark hides a PostgreSQL-only bug, a needless one only costs time."""
    if "database" in metafunc.fixturenames:
        both = metafunc.definition.get_closest_marker("both_databases")
        metafunc.parametrize("database", BACKENDS if both else ["sqlite"], indirect=True)


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than there are cores. A third of the suite's time is
    spent waiting (a `mamori serve` starting, Chromium drawing a page, a killed server
    coming back), and the extra worker fills it: on 2 cores, 5 m 15 s instead of 6 m 27 s
    with 2 workers (4 workers gave nothing more). `--dist worksteal` hands the long browser
    and fault tests' neighbours to whichever worker is free."""
    return (os.cpu_count() or 1) + 1


# Folders whose tests get a marker, so `pytest -m "not browser and not faults"` is the quick loop.
FOLDER_MARKERS = {"e2e": "browser", "faults": "faults"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    tests = Path(__file__).parent
    for item in items:
        folder = item.path.relative_to(tests).parts[0]
        if folder in FOLDER_MARKERS:
            item.add_marker(FOLDER_MARKERS[folder])


@pytest.fixture
def database(request: pytest.FixtureRequest) -> Iterator[Database]:
    db = fresh_database(request.param, request)
    yield db
    if db.is_sqlite:  # its file is replaced for the next test; PostgreSQL's pool stays
        db.engine.dispose()


@pytest.fixture
def clock() -> MovableClock:
    return MovableClock()


# Settings() reads and validates every MAMORI_* variable through pydantic-settings: tens of
# milliseconds, paid by nearly every test. The fixture validates once per environment (the
# MAMORI_* variables are its only other input) and hands each test a deep copy with its own
# data_dir; every derived value (database URL, secrets file) is a property of data_dir.
_VALIDATED_SETTINGS: dict[tuple[tuple[str, str], ...], Settings] = {}


# argon2id at its cheapest cost, for tests whose outcome does not depend on the cost: at
# production cost hashing took nearly half of the suite's time (passwords, and backup codes
# in hash_only mode, whose cost is these same settings). `@pytest.mark.production_hasher`
# tests, and every test against a real `mamori serve`, keep the production cost.
CHEAPEST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8, "argon2_parallelism": 1}


@pytest.fixture
def settings(tmp_path: Path, request: pytest.FixtureRequest) -> Settings:
    environment = tuple(
        sorted((k, v) for k, v in os.environ.items() if k.upper().startswith("MAMORI_"))
    )
    validated = _VALIDATED_SETTINGS.get(environment)
    if validated is None:
        validated = Settings(env="development", data_dir=Path("data"), base_url="http://localhost")
        _VALIDATED_SETTINGS[environment] = validated
    changes: dict[str, object] = {"data_dir": tmp_path / "data"}
    if not request.node.get_closest_marker("production_hasher"):
        changes.update(CHEAPEST_ARGON2)  # below what validation admits: only a test may
    return validated.model_copy(update=changes, deep=True)


@pytest.fixture
def keyring() -> Keyring:
    return Keyring.generate()


@pytest.fixture
def hasher(settings: Settings) -> PasswordHasher:
    return PasswordHasher(settings)


@pytest.fixture
def ctx(
    database: Database,
    clock: MovableClock,
    settings: Settings,
    keyring: Keyring,
    hasher: PasswordHasher,
) -> Context:
    return Context(
        settings=settings,
        clock=clock,
        database=database,
        keyring=keyring,
        hasher=hasher,
        throttle=Throttle(DatabaseCounters(clock), clock),
    )


@pytest.fixture
def client(ctx: Context) -> Iterator[TestClient]:
    with TestClient(create_app(context=ctx), base_url="http://localhost") as test_client:
        yield test_client


def redis_counters(clock: MovableClock) -> Counters:
    if not REDIS_URL:
        skip_or_fail("Redis variant: set MAMORI_TEST_REDIS_URL to run it")
    return RedisCounters(REDIS_URL, clock, prefix=f"mamori-test:{secrets.token_hex(4)}:")


def sign_up(client: TestClient, username: str = "hana", password: str = PASSWORD, **extra: str):
    response = client.post(
        "/api/v1/accounts", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    return response.json()


def log_in(client: TestClient, login: str = "hana", password: str = PASSWORD) -> str:
    response = client.post("/api/v1/login", json={"login": login, "password": password})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "authenticated"
    return str(body["token"])


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
