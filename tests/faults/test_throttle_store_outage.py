"""The throttle store (Redis) away, and instances that disagree about it.

- Nothing listens at MAMORI_REDIS_URL: sign-up, login and recovery answer 503
  problem+json with Retry-After, a browser gets the 503 page, /readyz says not ready.
- Redis stopped under a running `mamori serve` and started again: 503s meanwhile, then
  the same process serves logins again on its own.
- A second instance on the same database with another throttle store (one with Redis, one
  without) would split every failure counter in two: it refuses to start and says why.
  SQLite file shared by two processes, and a PostgreSQL schema.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socketserver
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from redis import Redis
from redis.exceptions import ConnectionError
from sqlalchemy import select
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.deployment import (
    DeploymentFact,
    ThrottleStoreMismatch,
    agree_on_throttle_store,
    throttle_store,
)
from tests.conftest import PASSWORD, empty_postgres_schema
from tests.core.helpers import CSRF_FIELD, events
from tests.core.servers import free_port, mamori_command
from tests.e2e.conftest import running_server

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class RedisServer:
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


@contextmanager
def redis_server(port: int) -> Iterator[RedisServer]:
    """A Redis of the test's own, in memory only, so stopping it harms nothing else."""
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                Redis(port=port, socket_connect_timeout=1).ping()
                break
            except ConnectionError:
                time.sleep(0.1)
        yield RedisServer(port)
    finally:
        process.terminate()
        process.wait(timeout=20)


def mamori_environment(data_dir: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env |= {"MAMORI_ENV": "development", "MAMORI_DATA_DIR": str(data_dir)}
    env |= {f"MAMORI_{name}": value for name, value in settings.items()}
    return env


@contextmanager
def serving(data_dir: Path, **settings: str) -> Iterator[str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    with running_server(data_dir, **settings) as server:
        yield server.url


def refused_start(data_dir: Path, **settings: str) -> subprocess.CompletedProcess[str]:
    """Start `mamori serve` expecting it to stop by itself; a server that starts instead
    is stopped after 30 s and reported as such (returncode None in the message)."""
    port = free_port()
    try:
        return subprocess.run(
            [*mamori_command(), "serve", "--port", str(port)],
            env=mamori_environment(data_dir, **settings),
            cwd=data_dir,
            capture_output=True,
            text=True,
            timeout=30,
        )
    except subprocess.TimeoutExpired as running:
        pytest.fail(f"the second instance started and served: {running.output!r}")


def assert_unavailable(answer: httpx.Response) -> None:
    assert_not_ready(answer)
    assert int(answer.headers["retry-after"]) > 0


def assert_not_ready(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"] == PROBLEM
    assert answer.json()["code"] == "service_unavailable"


def sign_up(http: httpx.Client, username: str = "hana") -> httpx.Response:
    return http.post(
        "/api/v1/accounts",
        json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
    )


def log_in(http: httpx.Client, username: str = "hana") -> httpx.Response:
    return http.post("/api/v1/login", json={"login": username, "password": PASSWORD})


def browser_log_in(url: str) -> httpx.Response:
    with httpx.Client(base_url=url, timeout=30, headers={"Accept": "text/html"}) as browser:
        page = browser.get("/login")
        token = CSRF_FIELD.search(page.text)
        assert token, page.text
        return browser.post(
            "/login",
            data={"csrf_token": token.group(1), "login": "hana", "password": PASSWORD},
        )


@contextmanager
def not_redis() -> Iterator[str]:
    """Something else at the Redis address (a web server, as a wrong port finds)."""

    class Answer(socketserver.BaseRequestHandler):
        def handle(self) -> None:
            self.request.recv(4096)
            self.request.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

    with socketserver.ThreadingTCPServer(("127.0.0.1", 0), Answer) as server:
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        yield f"redis://127.0.0.1:{server.server_address[1]}/0"
        server.shutdown()


@contextmanager
def nothing_listening() -> Iterator[str]:
    yield f"redis://127.0.0.1:{free_port()}/0"


@pytest.mark.parametrize("store", [nothing_listening, not_redis])
def test_a_redis_url_where_no_redis_answers_is_503_everywhere_and_not_ready(tmp_path, store):
    with (
        store() as nowhere,
        serving(tmp_path / "data", REDIS_URL=nowhere) as url,
        httpx.Client(base_url=url, timeout=30) as http,
    ):
        assert_unavailable(sign_up(http))
        assert_unavailable(log_in(http))
        assert_unavailable(http.post("/api/v1/recovery", json={"login": "hana"}))
        page = browser_log_in(url)
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert "Temporarily unavailable" in page.text
        assert http.get("/healthz").status_code == 200
        not_ready = http.get("/readyz")
        assert_not_ready(not_ready)
        assert "Redis" in not_ready.json()["detail"]


def test_redis_stopped_and_started_again_under_a_running_server(tmp_path):
    port = free_port()
    with redis_server(port) as redis, serving(tmp_path / "data", REDIS_URL=redis.url) as url:
        http = httpx.Client(base_url=url, timeout=30)
        assert sign_up(http).status_code == 201
        assert log_in(http).status_code == 200

        with contextlib.suppress(ConnectionError):
            Redis(port=port).shutdown(nosave=True)  # the test's own Redis only
        assert_unavailable(log_in(http))
        assert_not_ready(http.get("/readyz"))

        with redis_server(port):  # back, empty, on the same port; mamori not restarted
            deadline = time.monotonic() + 15
            while log_in(http).status_code != 200 and time.monotonic() < deadline:
                time.sleep(0.5)
            assert log_in(http).status_code == 200
            assert http.get("/readyz").status_code == 200
        http.close()


def test_a_second_instance_on_the_same_sqlite_file_without_redis_refuses_to_start(tmp_path):
    data_dir = tmp_path / "shared"
    with redis_server(free_port()) as redis, serving(data_dir, REDIS_URL=redis.url) as url:
        refused = refused_start(data_dir)  # same MAMORI_DATA_DIR, so the same mamori.db

        assert refused.returncode != 0
        assert "MAMORI_REDIS_URL" in refused.stderr, refused.stderr
        assert "throttle" in refused.stderr
        assert httpx.get(f"{url}/readyz").status_code == 200  # the first one still serves


@pytest.fixture
def postgres_database_url() -> Iterator[str]:
    with empty_postgres_schema("mamori_store") as url:
        yield url


def test_a_second_instance_on_the_same_postgresql_schema_with_redis_refuses_to_start(
    tmp_path, postgres_database_url
):
    shared = {"DATABASE_URL": postgres_database_url}
    secrets_file = str(tmp_path / "secrets.json")
    with (
        serving(tmp_path / "one", SECRETS_FILE=secrets_file, **shared) as url,
        redis_server(free_port()) as redis,
    ):
        (tmp_path / "two").mkdir()
        refused = refused_start(
            tmp_path / "two", SECRETS_FILE=secrets_file, REDIS_URL=redis.url, **shared
        )

        assert refused.returncode != 0
        assert "MAMORI_REDIS_URL" in refused.stderr, refused.stderr
        assert httpx.get(f"{url}/readyz").status_code == 200


def test_the_operator_switches_the_store_on_purpose_and_it_is_audited(ctx):
    """The way out the refusal names: `mamori throttle-store --switch` records the new
    store (never a Redis password: the record is in every database dump)."""
    with ctx.database.session() as db:
        agree_on_throttle_store(db, ctx.clock, throttle_store(None))  # a first start
    new_store = "redis://:hunter2-secret@127.0.0.1:6390/3"
    environment = {
        "MAMORI_DATABASE_URL": ctx.database.url,
        "MAMORI_DATA_DIR": str(ctx.settings.data_dir),
        "MAMORI_REDIS_URL": new_store,
    }

    shown = CliRunner().invoke(app, ["throttle-store"], env=environment)
    switched = CliRunner().invoke(app, ["throttle-store", "--switch"], env=environment)

    assert "recorded: the database" in shown.output
    assert "this configuration: redis://127.0.0.1:6390/3" in shown.output
    assert switched.exit_code == 0, switched.output
    assert "redis://127.0.0.1:6390/3 (was the database)" in switched.output
    with ctx.database.session() as db:
        agree_on_throttle_store(db, ctx.clock, throttle_store(new_store))
        with pytest.raises(ThrottleStoreMismatch):
            agree_on_throttle_store(db, ctx.clock, throttle_store(None))
        stored = db.scalars(select(DeploymentFact.value)).all()
    assert stored == ["redis://127.0.0.1:6390/3"]
    [audited] = events(ctx, "throttle_store.switched")
    assert audited.details == {"before": "the database", "after": "redis://127.0.0.1:6390/3"}
    assert "hunter2" not in str(audited.details)
