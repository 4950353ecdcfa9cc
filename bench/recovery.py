"""Does "Can't log in?" take the same time for an account that exists and one that doesn't?

    .venv/bin/python bench/recovery.py                       # SQLite in a temp dir
    .venv/bin/python bench/recovery.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Through the real app (in-process HTTP client, development outbox as the channel), it times
three steps for a registered login and for an unknown one, interleaved so that noise on a
shared machine hits both alike:

1. POST /api/v1/recovery with a username, and with an e-mail address;
2. POST /api/v1/recovery/{id}/send (a real code to a confirmed address, against a counted
   but undelivered stand-in for the unknown address);
3. POST /api/v1/recovery/{id}/proofs with a wrong code.

It prints the medians and the ratio unknown / known for each. A ratio near 1.0 means the
time reveals nothing; the outbox write is the one thing the unknown path skips. A real
SMTP server changes nothing here: recovery codes are handed over by the delivery worker
after the answer, never during the request.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text, update

from mamori.accounts.models import User
from mamori.app import create_app
from mamori.bootstrap import build_context
from mamori.core.clock import SystemClock
from mamori.core.migrate import upgrade
from mamori.settings import Settings

PASSWORD = "correct horse battery staple"


@contextlib.contextmanager
def fresh_client(url: str | None) -> Iterator[TestClient]:
    with tempfile.TemporaryDirectory() as data_dir:
        schema = f"mamori_bench_{secrets.token_hex(4)}"
        admin = create_engine(url) if url else None
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            joiner = "&" if "?" in (url or "") else "?"
            url = f"{url}{joiner}options=-csearch_path%3D{schema}"
        settings = Settings(
            env="development",
            data_dir=Path(data_dir),
            database_url=url,
            # Only the time is measured here, not the throttles.
            recovery_starts_per_ip_hour=10**9,
            recovery_starts_per_account_hour=10**9,
            security_code_sends_per_ip_hour=10**9,
            security_code_sends_per_destination_hour=10**9,
            security_code_resend_seconds=0,
        )
        ctx = build_context(settings, SystemClock())
        upgrade(ctx.database.engine)
        try:
            with TestClient(create_app(context=ctx), base_url="http://localhost") as client:
                created = client.post(
                    "/api/v1/accounts",
                    json={"username": "hana", "password": PASSWORD, "email": "hana@example.com"},
                )
                assert created.status_code == 201, created.text
                with ctx.database.session() as db:
                    db.execute(update(User).values(email_confirmed_at=datetime.now(UTC)))
                yield client
        finally:
            ctx.database.engine.dispose()
            if admin is not None:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return (time.perf_counter() - started) * 1000


def compare(rounds: int, known: Callable[[], object], unknown: Callable[[], object]) -> str:
    known_ms, unknown_ms = [], []
    for _ in range(rounds):
        known_ms.append(timed(known))
        unknown_ms.append(timed(unknown))
    a, b = statistics.median(known_ms), statistics.median(unknown_ms)
    return f"known {a:6.2f} ms   unknown {b:6.2f} ms   ratio {b / a:4.2f}"


def run(client: TestClient, rounds: int) -> None:
    def start(login: str) -> Callable[[], object]:
        return lambda: client.post("/api/v1/recovery", json={"login": login})

    print("start by username :", compare(rounds, start("hana"), start("hina")))
    print("start by e-mail   :", compare(rounds, start("hana@example.com"), start("h@x.example")))

    def recovery(login: str) -> str:
        return str(client.post("/api/v1/recovery", json={"login": login}).json()["recovery"])

    def send(login: str) -> Callable[[], object]:
        return lambda: client.post(
            f"/api/v1/recovery/{recovery(login)}/send", json={"option": "email"}
        )

    print("start + send code :", compare(rounds, send("hana@example.com"), send("h@x.example")))
    known, unknown = recovery("hana@example.com"), recovery("h@x.example")
    for token in (known, unknown):
        client.post(f"/api/v1/recovery/{token}/send", json={"option": "email"})

    def wrong(token: str) -> Callable[[], object]:
        # A malformed code is refused before any count: the same for both.
        return lambda: client.post(
            f"/api/v1/recovery/{token}/proofs", json={"method": "email_code", "code": "12345x"}
        )

    print("wrong code        :", compare(rounds, wrong(known), wrong(unknown)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--rounds", type=int, default=200)
    arguments = parser.parse_args()
    with fresh_client(arguments.database_url) as client:
        run(client, arguments.rounds)


if __name__ == "__main__":
    main()
