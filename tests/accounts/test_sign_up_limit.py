"""Each sign-up costs a password hash, so one IP may make only so many an hour."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD

pytestmark = pytest.mark.both_databases


def test_an_ip_past_its_hourly_sign_ups_waits_and_then_may_sign_up_again(client, clock, settings):
    for number in range(settings.signup_ip_per_hour):
        made = client.post(
            "/api/v1/accounts", json={"username": f"user{number}x", "password": PASSWORD}
        )
        assert made.status_code == 201, made.text
    refused = client.post("/api/v1/accounts", json={"username": "onemore", "password": PASSWORD})
    assert refused.status_code == 429
    assert refused.json()["code"] == "too_many_attempts"
    assert int(refused.headers["Retry-After"]) >= 1
    clock.advance(hours=1, seconds=1)
    again = client.post("/api/v1/accounts", json={"username": "onemore", "password": PASSWORD})
    assert again.status_code == 201


def test_logging_in_is_not_slowed_by_sign_ups(client, settings):
    from tests.conftest import log_in

    for number in range(settings.signup_ip_per_hour):
        client.post("/api/v1/accounts", json={"username": f"user{number}x", "password": PASSWORD})
    assert log_in(client, "user0x")
