"""`mamori serve` as a new user runs it: an empty directory, nothing configured."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.core.servers import free_port
from tests.core.servers import wait_until_healthy as wait_for

PASSWORD = "correct horse battery staple"
MAMORI = Path(sys.executable).with_name("mamori")


@dataclass
class Server:
    url: str
    data_dir: Path
    process: subprocess.Popen[bytes]


def wait_until_healthy(server: Server, log: Path) -> None:
    wait_for(server.url, server.process, log, seconds=90)


def stop(server: Server) -> int:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            return server.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()
            pytest.fail("mamori serve did not stop on SIGTERM")
    return server.process.returncode


@pytest.fixture(params=[1, 2], ids=["one-worker", "two-workers"])
def server(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Server]:
    if not MAMORI.exists():
        pytest.fail(f"{MAMORI} is missing: install mamori into this environment first")
    port = free_port()
    data_dir = tmp_path / "mamori-data"
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    environment |= {"MAMORI_DATA_DIR": str(data_dir), "MAMORI_ENV": "development"}
    log = tmp_path / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [str(MAMORI), "serve", "--port", str(port), "--workers", str(request.param)],
            cwd=tmp_path,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    running = Server(f"http://127.0.0.1:{port}", data_dir, process)
    try:
        wait_until_healthy(running, log)
        yield running
    finally:
        stop(running)


# One test per worker count, not one per check: each starts its own `mamori serve`, and a
# start (imports, migrations, new secrets) is what these tests spend their time on.


def test_a_fresh_start_serves_and_a_restart_keeps_accounts_and_secrets(server):
    """What a new user sees on first start: private secrets, pages, an empty outbox. Then
    sign up, log in, log out, stop, and the account and the secrets are still there."""
    secrets_file = server.data_dir / "secrets.json"
    login_page = httpx.get(f"{server.url}/login")
    outbox = httpx.get(f"{server.url}/dev/outbox")

    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert (server.data_dir / "mamori.db").exists()
    assert httpx.get(f"{server.url}/readyz").json() == {"status": "ready"}
    assert login_page.status_code == 200
    assert "<form" in login_page.text
    assert "frame-ancestors 'none'" in login_page.headers["content-security-policy"]
    assert "server" not in login_page.headers  # no version banner
    assert outbox.status_code == 200
    assert outbox.json() == []

    created = httpx.post(
        f"{server.url}/api/v1/accounts",
        json={"username": "hana", "password": PASSWORD, "email": "hana@example.com"},
    )
    assert created.status_code == 201, created.text

    # Fresh connections, so with two workers both of them answer some of these.
    tokens = []
    for _ in range(4):
        login = httpx.post(
            f"{server.url}/api/v1/login", json={"login": "hana", "password": PASSWORD}
        )
        assert login.status_code == 200, login.text
        tokens.append(login.json()["token"])
    for token in tokens:
        me = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.json()["username"] == "hana"

    out = httpx.post(
        f"{server.url}/api/v1/logout", headers={"Authorization": f"Bearer {tokens[0]}"}
    )
    assert out.status_code == 204
    gone = httpx.get(f"{server.url}/api/v1/me", headers={"Authorization": f"Bearer {tokens[0]}"})
    assert gone.status_code == 401

    secrets_before = (server.data_dir / "secrets.json").read_text()
    # uvicorn shuts down cleanly, then re-raises the signal it caught.
    assert stop(server) in (0, -signal.SIGTERM)
    again = subprocess.run(
        [str(MAMORI), "migrate"],
        env={k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
        | {"MAMORI_DATA_DIR": str(server.data_dir)},
        capture_output=True,
        check=False,
    )

    assert again.returncode == 0, again.stderr
    assert (server.data_dir / "secrets.json").read_text() == secrets_before
    with closing(sqlite3.connect(server.data_dir / "mamori.db")) as database:
        assert database.execute("SELECT username FROM users").fetchall() == [("hana",)]
