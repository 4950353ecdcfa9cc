"""A PostgreSQL host that accepts the connection but never answers (a frozen server, a
firewall dropping packets) costs a request a few seconds and a 503, never a hang."""

from __future__ import annotations

import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as StillWaiting

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from mamori.core.db import CONNECT_TIMEOUT_SECONDS, Database

# Far above the connect timeout, far below the kernel's TCP timeout (about two minutes).
BOUND_SECONDS = CONNECT_TIMEOUT_SECONDS * 3


def seconds_until_refused(query: str = "") -> float:
    """How long a first query waits on a server that completes TCP but never speaks."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)  # the kernel completes the handshake; nobody ever answers
        port = silent.getsockname()[1]
        database = Database(f"postgresql+psycopg://postgres@127.0.0.1:{port}/mamori{query}")

        def first_query() -> float:
            started = time.monotonic()
            with pytest.raises(OperationalError), database.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            return time.monotonic() - started

        pool = ThreadPoolExecutor(max_workers=1)
        try:
            return pool.submit(first_query).result(timeout=BOUND_SECONDS)
        except StillWaiting:
            pytest.fail(f"still waiting for the database after {BOUND_SECONDS} s")
        finally:
            pool.shutdown(wait=False)
            database.engine.dispose()


def test_a_database_that_never_answers_fails_within_seconds() -> None:
    waited = seconds_until_refused()
    assert CONNECT_TIMEOUT_SECONDS - 1 <= waited < BOUND_SECONDS, waited


def test_an_operators_own_connect_timeout_wins() -> None:
    assert seconds_until_refused("?connect_timeout=2") < CONNECT_TIMEOUT_SECONDS
