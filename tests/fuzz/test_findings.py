"""What the schemathesis run found, each pinned by a plain test a client would notice."""

from __future__ import annotations

import pytest

from tests.conftest import bearer, log_in, sign_up
from tests.core.helpers import problem

pytestmark = pytest.mark.both_databases

JSON = {"Content-Type": "application/json"}


def test_a_405_names_every_method_served_at_that_url(client):
    # /me/two-factor/totp is both POST .../totp and DELETE .../{method}.
    wrong = client.put("/api/v1/me/two-factor/totp")

    problem(wrong, 405, "method_not_allowed")
    assert wrong.headers["allow"] == "POST, DELETE"
    assert client.patch("/api/v1/me/email").headers["allow"] == "PUT, DELETE"
    assert client.put("/api/v1/me/backup-codes").headers["allow"] == "GET, POST"


def test_a_body_that_is_not_even_text_is_422_invalid_request(client):
    response = client.post("/api/v1/login", content=b"\xff\x00\xfe{", headers=JSON)

    body = problem(response, 422, "invalid_request")
    assert body["errors"] == [{"field": "", "reason": "json_invalid"}]


def test_without_a_token_a_malformed_body_is_401_not_a_validation_answer(client):
    sign_up(client)
    token = log_in(client)

    for headers in ({}, {"Authorization": "Bearer "}, bearer("not-a-session")):
        for body in (b"\x00", b"\xff\xfe\x00"):
            response = client.put("/api/v1/me/email", content=body, headers={**JSON, **headers})
            problem(response, 401, "not_authenticated")
            assert response.headers["www-authenticate"] == 'Bearer realm="mamori"'

    # With a live session the same body is the usual 422.
    answer = client.put("/api/v1/me/email", content=b"\x00", headers={**JSON, **bearer(token)})
    problem(answer, 422, "invalid_request")


def test_reauthenticating_takes_the_password_or_a_code_never_both(client):
    sign_up(client)
    token = log_in(client)

    for body in (
        {"password": "x", "method": "totp"},
        {"password": "x", "code": "123456"},
        {"method": "totp"},
        {},
    ):
        answer = client.post("/api/v1/me/reauthenticate", headers=bearer(token), json=body)
        problem(answer, 422, "invalid_request")


def test_the_schema_states_the_reauthentication_either_or(client):
    schema = client.get("/openapi.json").json()
    shapes = schema["components"]["schemas"]["ReauthenticateRequest"]["oneOf"]

    assert [shape["required"] for shape in shapes] == [
        ["password"],
        ["method", "code"],
        ["method", "credential"],  # a passkey
    ]


def test_confirming_with_nothing_pending_is_a_documented_409(client):
    sign_up(client)
    token = log_in(client)
    schema = client.get("/openapi.json").json()["paths"]

    for method in ("totp", "sms"):
        answer = client.post(
            f"/api/v1/me/two-factor/{method}/confirm", headers=bearer(token), json={"code": "1"}
        )
        assert answer.status_code == 409
        assert "409" in schema[f"/api/v1/me/two-factor/{method}/confirm"]["post"]["responses"]


def test_a_method_that_is_not_set_up_is_a_documented_400(client):
    sign_up(client)
    token = log_in(client)
    schema = client.get("/openapi.json").json()["paths"]

    default = client.put(
        "/api/v1/me/two-factor/default", headers=bearer(token), json={"method": "totp"}
    )
    removed = client.delete("/api/v1/me/two-factor/sms", headers=bearer(token))

    problem(default, 400, "method_not_available")
    problem(removed, 400, "method_not_available")
    assert "400" in schema["/api/v1/me/two-factor/default"]["put"]["responses"]
    assert "400" in schema["/api/v1/me/two-factor/{method}"]["delete"]["responses"]
