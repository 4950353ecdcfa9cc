"""Nothing listens where the database should be: each kind of client gets the 503 it can
use, in a fraction of a second (no PostgreSQL needed: port 1 on 127.0.0.1 refuses)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mamori.accounts.passwords import PasswordHasher
from mamori.app import create_app
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.core.crypto import Keyring
from mamori.core.db import Database
from mamori.core.throttle import DatabaseCounters, Throttle
from mamori.settings import Settings
from tests.conftest import PASSWORD

NOWHERE = "postgresql+psycopg://postgres@127.0.0.1:1/mamori"


@pytest.fixture
def unreachable(settings: Settings, keyring: Keyring) -> Iterator[TestClient]:
    clock = MovableClock()
    database = Database(NOWHERE)
    ctx = Context(
        settings=settings,
        clock=clock,
        database=database,
        keyring=keyring,
        hasher=PasswordHasher(settings),
        throttle=Throttle(DatabaseCounters(clock), clock),
    )
    with TestClient(create_app(context=ctx), base_url="http://localhost") as client:
        yield client
    database.engine.dispose()


def test_an_api_client_gets_problem_json_with_retry_after(unreachable: TestClient) -> None:
    answer = unreachable.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "service_unavailable"
    assert int(answer.headers["retry-after"]) > 0


def test_a_browser_gets_a_page_in_its_language(unreachable: TestClient) -> None:
    unreachable.cookies.set("mamori_session", "x" * 43)
    page = unreachable.get(
        "/accounts/center", headers={"Accept": "text/html", "Accept-Language": "ja"}
    )
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert "一時的に利用できません" in page.text
    assert 'href="/accounts/center"' in page.text  # the way back is the page they wanted
    assert int(page.headers["retry-after"]) > 0


def test_a_load_balancer_sees_not_ready(unreachable: TestClient) -> None:
    assert unreachable.get("/healthz").status_code == 200  # the process itself is fine
    assert unreachable.get("/readyz").status_code == 503
