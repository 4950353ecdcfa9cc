"""A real `mamori serve --workers 2` in production mode: every scrape, whichever worker
answers it, counts what both workers did; every log line is one JSON object."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.core.servers import free_port
from tests.observability.helpers import parse, sample
from tests.test_serve import Server, stop, wait_until_healthy

MAMORI = Path(sys.executable).with_name("mamori")
TOKEN = "scrape-token-for-the-test-0123456789"
FAILED_LOGINS = 24


@dataclass
class Started:
    server: Server
    errors: Path  # the server's stderr: the log


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[Started]:
    port = free_port()
    data_dir = tmp_path / "mamori-data"
    stale = data_dir / "metrics" / "counter_4242.db"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a server that ran before")  # must not add up with this run
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    environment.pop("PROMETHEUS_MULTIPROC_DIR", None)
    environment |= {
        "MAMORI_DATA_DIR": str(data_dir),
        "MAMORI_ENV": "production",
        "MAMORI_METRICS_TOKEN": TOKEN,
        "MAMORI_BASE_URL": f"http://127.0.0.1:{port}",
    }
    errors = tmp_path / "serve.err"
    with errors.open("wb") as stderr, (tmp_path / "serve.out").open("wb") as stdout:
        process = subprocess.Popen(
            [str(MAMORI), "serve", "--port", str(port), "--workers", "2"],
            cwd=tmp_path,
            env=environment,
            stdout=stdout,
            stderr=stderr,
            start_new_session=True,
        )
    server = Server(f"http://127.0.0.1:{port}", data_dir, process)
    try:
        wait_until_healthy(server, errors)
        wait_for_both_workers(errors)
        yield Started(server, errors)
    finally:
        stop(server)


def wait_for_both_workers(log: Path) -> None:
    """/healthz answers once one worker is up; the other may still be starting."""
    deadline = time.monotonic() + 90  # a guard against hanging, not a measurement
    while log.read_text().count("Application startup complete") < 2:
        if time.monotonic() > deadline:
            pytest.fail(f"the second worker never started:\n{log.read_text()}")
        time.sleep(0.2)


def worker_files(data_dir: Path) -> set[str]:
    """The pids that counted an event (prometheus_client names a file after its process)."""
    return {path.stem.split("_")[-1] for path in (data_dir / "metrics").glob("counter_*.db")}


def fail_logins(url: str, first: int, count: int) -> None:
    def attempt(number: int) -> None:
        # A fresh connection each time, so both workers take some of them.
        answer = httpx.post(
            f"{url}/api/v1/login",
            json={"login": f"nobody-{number}", "password": PASSWORD},
            headers={"X-Request-ID": f"test-login-{number:04d}"},
            timeout=60,
        )
        assert answer.status_code == 401, answer.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(attempt, range(first, first + count)))


def test_every_scrape_adds_up_both_workers_and_logs_are_json(two_workers: Started):
    server = two_workers.server
    assert not (server.data_dir / "metrics" / "counter_4242.db").exists()

    sent = 0
    while len(worker_files(server.data_dir)) < 2 and sent < 3 * FAILED_LOGINS:
        fail_logins(server.url, sent, FAILED_LOGINS // 2)
        sent += FAILED_LOGINS // 2
    assert len(worker_files(server.data_dir)) == 2, "one worker took every request"

    authorised = {"Authorization": f"Bearer {TOKEN}"}
    assert httpx.get(f"{server.url}/metrics").status_code == 401
    totals = set()
    for _ in range(8):  # a fresh connection each: both workers answer some scrapes
        answer = httpx.get(f"{server.url}/metrics", headers=authorised)
        assert answer.status_code == 200, answer.text
        samples = parse(answer.text)
        totals.add(
            (
                samples[sample("mamori_logins_total", outcome="password_failed")],
                samples[
                    sample(
                        "mamori_audit_events_total",
                        event="login.password_failed",
                        outcome="failure",
                    )
                ],
                samples[
                    sample(
                        "mamori_http_request_duration_seconds_count",
                        method="POST",
                        route="/api/v1/login",
                        status="4xx",
                    )
                ],
            )
        )
    assert totals == {(sent, sent, sent)}

    lines = two_workers.errors.read_text().splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [
        e for e in entries if e["logger"] == "mamori.access" and e["route"] == "/api/v1/login"
    ]
    assert len(access) == sent
    assert {e["request_id"] for e in access} == {f"test-login-{n:04d}" for n in range(sent)}
    for entry in access:
        assert (entry["method"], entry["status"], entry["client_ip"]) == ("POST", 401, "127.0.0.1")
        assert entry["duration_ms"] > 0 and entry["level"] == "info" and entry["timestamp"]
    assert not any("nobody-" in line for line in lines)  # what was typed stays out of the log
