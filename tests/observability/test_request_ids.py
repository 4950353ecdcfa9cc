"""Every answer names its request: the X-Request-ID header, the problem body, the log line."""

from __future__ import annotations

import json
import logging
import re

import pytest
from fastapi.testclient import TestClient

from mamori.observability.logs import JsonFormatter
from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import problem

GENERATED = re.compile(r"[0-9a-f]{32}")


def test_a_sane_request_id_from_the_proxy_is_kept(client: TestClient):
    answer = client.get("/healthz", headers={"X-Request-ID": "edge-7f3a.42:eu_west-1"})
    assert answer.headers["x-request-id"] == "edge-7f3a.42:eu_west-1"


@pytest.mark.parametrize(
    "offered",
    ["short", "x" * 129, "two words here", "<script>alert(1)</script>", '{"level":"error"}'],
)
def test_an_odd_request_id_is_replaced_by_a_fresh_one(client: TestClient, offered: str):
    answer = client.get("/healthz", headers={"X-Request-ID": offered})
    assert GENERATED.fullmatch(answer.headers["x-request-id"])


def test_each_request_without_an_id_gets_its_own(client: TestClient):
    first = client.get("/healthz").headers["x-request-id"]
    second = client.get("/healthz").headers["x-request-id"]
    assert GENERATED.fullmatch(first) and GENERATED.fullmatch(second) and first != second


def test_a_problem_names_its_request_id(client: TestClient):
    answer = client.post("/api/v1/login", json={"login": "nobody", "password": PASSWORD})
    body = problem(answer, 401, answer.json()["code"])
    assert body["request_id"] == answer.headers["x-request-id"]
    assert int(answer.headers["content-length"]) == len(answer.content)
    invalid = client.post(
        "/api/v1/login", json={"login": 3}, headers={"X-Request-ID": "support-ticket-991"}
    )
    assert problem(invalid, 422, "invalid_request")["request_id"] == "support-ticket-991"


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
