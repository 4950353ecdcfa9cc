"""Every answer names its request: the X-Request-ID header, the problem body, the log line."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from mamori.app import create_app
from mamori.context import Context
from mamori.observability.logs import JsonFormatter
from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import problem

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_from_the_proxy_is_kept(client: TestClient):
    answer = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42:eu_west-1"})
    assert answer.headers["x-request-id"] == "edge-7f3a.42:eu_west-1"


def test_an_odd_request_id_is_replaced_by_a_fresh_one(client: TestClient):
    for offered in (
        "short",
        "x" * 129,
        "two words here",
        "<script>alert(1)</script>",
        '{"level":"error"}',
    ):
        answer = client.get("/healthz", headers={"X-Request-ID": offered})
        assert GENERATED.fullmatch(answer.headers["x-request-id"]), offered


def test_each_request_without_an_id_gets_its_own(client: TestClient):
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


def test_a_problem_repeats_the_request_id_the_client_chose(client: TestClient):
    invalid = client.post(
        "/api/v1/login", json={"login": 3}, headers={"X-Request-ID": "support-ticket-991"}
    )
    assert problem(invalid, 422, "invalid_request")["request_id"] == "support-ticket-991"
    assert int(invalid.headers["content-length"]) == len(invalid.content)


def test_without_an_id_of_its_own_two_alike_requests_get_alike_bodies(client: TestClient):
    """An id made up by mamori goes in the header only: the answers to a known and an
    unknown account stay byte for byte the same."""
    answers = [
        client.post("/api/v1/login", json={"login": login, "password": PASSWORD})
        for login in ("nobody", "nobody-else")
    ]
    assert "request_id" not in problem(answers[0], 401, "invalid_credentials")
    assert answers[0].content == answers[1].content
    assert answers[0].headers["x-request-id"] != answers[1].headers["x-request-id"]


def test_the_access_log_line_is_json_with_the_request_id_and_route(
    client: TestClient, caplog: pytest.LogCaptureFixture
):
    sign_up(client, "hana")
    caplog.set_level(logging.INFO, logger="mamori.access")
    secret = "cancelTokenThatMustStayOutOfLogs"
    client.get(f"/recovery/cancel/{secret}", headers={"X-Request-ID": "trace-0001-abcd"})
    [record] = [r for r in caplog.records if r.name == "mamori.access"]
    line = JsonFormatter().format(record)
    assert secret not in line and "\n" not in line
    entry = json.loads(line)
    assert entry["request_id"] == "trace-0001-abcd"
    assert entry["route"] == "/recovery/cancel/{cancel_token}"
    assert entry["method"] == "GET"
    assert entry["status"] in {200, 404, 410}
    assert entry["client_ip"] == "testclient"
    assert entry["level"] == "info" and entry["logger"] == "mamori.access"
    assert isinstance(entry["duration_ms"], float)


def test_a_crash_answers_500_with_the_id_that_its_log_line_carries(
    ctx: Context, caplog: pytest.LogCaptureFixture
):
    """The one answer mamori never plans: the user quotes the id, the operator finds the
    traceback by it."""
    caplog.set_level(logging.INFO, logger="mamori.access")
    app = create_app(context=ctx)

    def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/broken", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/broken", headers={"X-Request-ID": "crash-report-42"})
    body = problem(answer, 500, "internal_error")
    assert answer.headers["x-request-id"] == body["request_id"] == "crash-report-42"
    [logged] = [r for r in caplog.records if r.getMessage().startswith("unexpected error")]
    assert json.loads(JsonFormatter().format(logged))["request_id"] == "crash-report-42"
    [access] = [r for r in caplog.records if r.name == "mamori.access"]
    assert (access.request_id, access.status) == ("crash-report-42", 500)  # type: ignore[attr-defined]
