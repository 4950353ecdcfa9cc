"""'Confirm it's you' with a second factor instead of the password (API contract v1)."""

from __future__ import annotations

from tests.conftest import bearer
from tests.two_factor.helpers import app_code, user_with_app


def test_an_app_code_or_a_backup_code_reopens_the_ten_minute_window(client, clock):
    token, secret, codes = user_with_app(client, clock)
    clock.advance(minutes=11)
    assert client.get("/api/v1/me/backup-codes", headers=bearer(token)).status_code == 403

    by_app = client.post(
        "/api/v1/me/reauthenticate",
        headers=bearer(token),
        json={"method": "totp", "code": app_code(secret, clock)},
    )
    assert by_app.status_code == 204, by_app.text
    assert client.get("/api/v1/me/backup-codes", headers=bearer(token)).status_code == 200

    clock.advance(minutes=11)
    by_code = client.post(
        "/api/v1/me/reauthenticate",
        headers=bearer(token),
        json={"method": "backup_code", "code": codes[0]},
    )
    assert by_code.status_code == 204, by_code.text
    listed = client.get("/api/v1/me/backup-codes", headers=bearer(token)).json()
    assert listed["remaining"] == 9


def test_wrong_codes_count_against_the_same_failure_counter(client, clock):
    token, secret, _ = user_with_app(client, clock)
    for _ in range(5):
        wrong = client.post(
            "/api/v1/me/reauthenticate",
            headers=bearer(token),
            json={"method": "totp", "code": "000000"},
        )
        assert wrong.status_code == 400
    waiting = client.post(
        "/api/v1/me/reauthenticate",
        headers=bearer(token),
        json={"method": "totp", "code": app_code(secret, clock)},
    )
    assert waiting.status_code == 429
    assert "Retry-After" in waiting.headers


def test_one_proof_exactly_and_only_a_method_that_is_set_up(client, clock):
    from tests.conftest import log_in, sign_up

    token, _, _ = user_with_app(client, clock)
    both = client.post(
        "/api/v1/me/reauthenticate",
        headers=bearer(token),
        json={"password": "x", "method": "totp", "code": "123456"},
    )
    assert both.status_code == 422
    assert (
        client.post("/api/v1/me/reauthenticate", headers=bearer(token), json={}).status_code == 422
    )

    sign_up(client, "kenji")
    plain = log_in(client, "kenji")
    answer = client.post(
        "/api/v1/me/reauthenticate",
        headers=bearer(plain),
        json={"method": "totp", "code": "123456"},
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "method_not_available"
