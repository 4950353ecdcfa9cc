"""PostgreSQL stopped and started under load, with `mamori serve` left running.

A private PostgreSQL cluster (initdb into a temporary folder, its own port: the shared
server on 5432 is never touched) serves one `mamori serve`. Clients keep asking for
"who am I", password logins, the Accounts Center page and /readyz. PostgreSQL is stopped
(`pg_ctl stop -m fast`, which also cuts every pooled connection), left down, and started
again. What a user and an operator see:

- while it is down, every API answer is 503 problem+json `service_unavailable` with
  Retry-After, the page is a 503 HTML page saying to try again, /readyz is 503;
- never a 500, and no request waits longer than ANSWER_BOUND_SECONDS;
- once PostgreSQL is back, the same mamori process answers everything again by itself.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import PASSWORD, skip_or_fail
from tests.core.servers import free_port
from tests.faults.helpers import Server

PG_BIN = Path("/usr/lib/postgresql/15/bin")
# How long a request may take while the database is away: far above a healthy answer,
# far below a client's patience. Connecting to a stopped server is refused at once;
# this catches a request stuck on a dead pooled connection or a connect that never ends.
ANSWER_BOUND_SECONDS = 10
DOWN_SECONDS = 3
RECOVERY_BOUND_SECONDS = 30


@dataclass
class Cluster:
    root: Path
    port: int
    as_postgres: list[str]

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def pg_ctl(self, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.as_postgres, str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), *args],
            check=check,
            capture_output=True,
            timeout=120,
        )

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.pg_ctl("-l", str(self.root / "postgres.log"), "-w", "-t", "60", "-o", options, "start")

    def stop(self) -> None:
        self.pg_ctl("-w", "-t", "60", "-m", "fast", "stop")


@pytest.fixture
def private_postgres() -> Iterator[Cluster]:
    """A PostgreSQL cluster of our own, to stop at will."""
    if not (PG_BIN / "initdb").exists():
        skip_or_fail(f"{PG_BIN}/initdb not found: install Debian's postgresql-15 to run this")
    as_postgres: list[str] = []
    root = Path(tempfile.mkdtemp(prefix="mamori-pg-"))
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root
        if shutil.which("runuser") is None:
            skip_or_fail("running as root without runuser: cannot start PostgreSQL")
        as_postgres = ["runuser", "-u", "postgres", "--"]
        shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root, free_port(), as_postgres)
    try:
        subprocess.run(
            [
                *(*as_postgres, str(PG_BIN / "initdb"), "-D", str(root / "data")),
                *("-A", "trust", "-U", "postgres", "--no-sync", "-E", "UTF8", "--locale", "C"),
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        cluster.start()
        yield cluster
    finally:
        cluster.pg_ctl("-m", "immediate", "stop", check=False)
        shutil.rmtree(root, ignore_errors=True)


@dataclass
class Answer:
    kind: str
    sent: float
    seconds: float
    status: int  # 0: no answer at all
    content_type: str
    retry_after: str | None
    body: str


@dataclass
class Load:
    url: str
    token: str
    answers: list[Answer] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def ask(self, http: httpx.Client, kind: str) -> Answer:
        sent = time.monotonic()
        try:
            response = self._request(http, kind)
        except httpx.TransportError as error:
            answer = Answer(kind, sent, time.monotonic() - sent, 0, "", None, repr(error))
        else:
            answer = Answer(
                kind,
                sent,
                time.monotonic() - sent,
                response.status_code,
                response.headers.get("content-type", ""),
                response.headers.get("retry-after"),
                response.text[:2000],
            )
        with self.lock:
            self.answers.append(answer)
        return answer

    def _request(self, http: httpx.Client, kind: str) -> httpx.Response:
        if kind == "who am I":
            return http.get("/api/v1/me", headers={"Authorization": f"Bearer {self.token}"})
        if kind == "login":
            return http.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
        if kind == "page":
            return http.get(
                "/accounts/center",
                headers={"Accept": "text/html", "Cookie": f"mamori_session={self.token}"},
            )
        return http.get("/readyz")

    def client(self, kinds: tuple[str, ...]) -> None:
        with httpx.Client(base_url=self.url, timeout=ANSWER_BOUND_SECONDS * 3) as http:
            while not self.stop.is_set():
                for kind in kinds:
                    self.ask(http, kind)
                time.sleep(0.05)

    def between(self, start: float, end: float) -> list[Answer]:
        with self.lock:
            return [a for a in self.answers if a.sent >= start and a.sent + a.seconds <= end]


KINDS = ("who am I", "login", "page", "readyz")


def test_postgresql_stopped_and_started_under_load(
    private_postgres: Cluster, tmp_path: Path
) -> None:
    server = Server(tmp_path, {"DATABASE_URL": private_postgres.url}, workers=1)
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            created = http.post("/api/v1/accounts", json={"username": "hana", "password": PASSWORD})
            assert created.status_code == 201, created.text
            logged_in = http.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
            assert logged_in.status_code == 200, logged_in.text
        load = Load(server.url, logged_in.json()["token"])
        clients = [
            threading.Thread(target=load.client, args=(("who am I", "readyz"),)),
            threading.Thread(target=load.client, args=(("login",),)),
            threading.Thread(target=load.client, args=(("page", "who am I"),)),
        ]
        for client in clients:
            client.start()
        try:
            figures = _outage(load, private_postgres, server)
        finally:
            load.stop.set()
            for client in clients:
                client.join(timeout=ANSWER_BOUND_SECONDS * 4)
        print(f"\n[faults] PostgreSQL outage: {figures}")
    finally:
        server.stop()


def _outage(load: Load, cluster: Cluster, server: Server) -> dict[str, object]:
    time.sleep(1)
    healthy_until = time.monotonic()
    cluster.stop()
    down_from = time.monotonic()
    time.sleep(DOWN_SECONDS)
    down_until = time.monotonic()
    cluster.start()
    up_from = time.monotonic()
    recovered_at = _wait_for_every_kind(load, up_from)
    time.sleep(1)
    end = time.monotonic()
    assert server.process is not None and server.process.poll() is None, "mamori restarted"

    everything = load.between(0, end)
    assert not [a for a in everything if a.status == 0], "a request got no answer at all"
    assert not [a for a in everything if a.status >= 500 and a.status != 503], [
        (a.kind, a.status, a.body) for a in everything if a.status >= 500 and a.status != 503
    ]
    slow = [a for a in everything if a.seconds > ANSWER_BOUND_SECONDS]
    assert not slow, [(a.kind, round(a.seconds, 1)) for a in slow]

    healthy = load.between(0, healthy_until)
    assert healthy and all(a.status == 200 for a in healthy), Counter(a.status for a in healthy)

    down = load.between(down_from, down_until)
    assert {a.kind for a in down} == set(KINDS), "some kind of request was not tried"
    for answer in down:
        assert answer.status == 503, (answer.kind, answer.status, answer.body)
        if answer.kind == "page":
            assert answer.content_type.startswith("text/html"), answer.content_type
            assert "try again" in answer.body.lower(), answer.body
        else:
            assert answer.content_type == "application/problem+json", answer.content_type
            assert '"code":"service_unavailable"' in answer.body.replace(" ", ""), answer.body
        if answer.kind != "readyz":
            assert answer.retry_after is not None and int(answer.retry_after) > 0

    after = load.between(recovered_at, end)
    assert {a.kind for a in after} == set(KINDS)
    failed = [(a.kind, a.status) for a in after if a.status != 200]
    assert not failed, failed
    return {
        "answers while down": dict(Counter(a.status for a in down)),
        "slowest answer while down (s)": round(max(a.seconds for a in down), 3),
        "back to 200 after PostgreSQL started (s)": round(recovered_at - up_from, 2),
        "answers in all": len(everything),
    }


def _wait_for_every_kind(load: Load, since: float) -> float:
    """When the last kind of request first succeeded again after `since`."""
    deadline = since + RECOVERY_BOUND_SECONDS
    while time.monotonic() < deadline:
        answers = load.between(since, time.monotonic())
        firsts = {}
        for answer in answers:
            if answer.status == 200 and answer.kind not in firsts:
                firsts[answer.kind] = answer.sent + answer.seconds
        if set(firsts) == set(KINDS):
            return max(firsts.values())
        time.sleep(0.05)
    pytest.fail(f"mamori did not recover within {RECOVERY_BOUND_SECONDS} s of PostgreSQL's start")
