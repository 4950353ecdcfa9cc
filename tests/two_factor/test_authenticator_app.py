"""Turning on an authenticator app and logging in with it (issue 3)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pytest

from tests.conftest import PASSWORD, bearer
from tests.core.helpers import app_client
from tests.two_factor.helpers import app_code, outbox_subjects, start_login, user_with_app


def test_turning_on_an_app_hands_out_backup_codes_and_login_asks_for_it(client, clock):
    token, secret, codes = user_with_app(client, clock)
    assert len(codes) == 10
    assert all(len(code.replace(" ", "")) == 8 for code in codes)
    assert len(secret) == 32  # 160 bits of base32
    assert "Two-factor authentication is on" in outbox_subjects(client, "hana@example.com")

    challenge = start_login(client)
    assert challenge["methods"] == ["totp", "backup_code"]
    answer = client.post(
        f"/api/v1/login/{challenge['challenge']}/verify",
        json={"method": "totp", "code": app_code(secret, clock)},
    )
    assert answer.status_code == 200, answer.text
    new_token = answer.json()["token"]
    assert new_token != token and new_token != challenge["challenge"]
    assert client.get("/api/v1/me", headers=bearer(new_token)).json()["username"] == "hana"


def test_otpauth_uri_names_issuer_and_account_with_standard_parameters(client, clock):
    from tests.conftest import log_in, sign_up

    sign_up(client)
    token = log_in(client)
    body = client.post("/api/v1/me/two-factor/totp", headers=bearer(token)).json()
    uri = urlparse(body["otpauth_uri"])
    query = parse_qs(uri.query)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    assert uri.path == "/mamori:hana"
    assert query["secret"] == [body["secret"]] and query["issuer"] == ["mamori"]
    assert body["qr_svg"].startswith("<svg")


@pytest.mark.both_databases  # the conditional UPDATE that spends a step
def test_a_time_step_is_accepted_once(client, clock):
    _, secret, _ = user_with_app(client, clock)
    code = app_code(secret, clock)
    first = start_login(client)
    assert (
        client.post(
            f"/api/v1/login/{first['challenge']}/verify", json={"method": "totp", "code": code}
        ).status_code
        == 200
    )
    second = start_login(client)
    replay = client.post(
        f"/api/v1/login/{second['challenge']}/verify", json={"method": "totp", "code": code}
    )
    assert replay.status_code == 409
    assert replay.json()["code"] == "code_already_used"
    # The owner is told someone replayed a code after typing the right password.
    assert "Someone entered your password" in outbox_subjects(client, "hana@example.com")


def test_codes_one_step_off_work_and_a_phone_clock_far_behind_gets_its_own_message(client, clock):
    _, secret, _ = user_with_app(client, clock)
    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    # Only a step gone by gets the hint; a coming one is a wrong code (tests/two_factor/
    # test_clock_hint.py).
    far = client.post(url, json={"method": "totp", "code": app_code(secret, clock, steps=-6)})
    assert far.status_code == 400
    assert far.json()["code"] == "clock_out_of_sync"
    # Setting up used the previous step, so a phone one step ahead shows the next one.
    near = client.post(url, json={"method": "totp", "code": app_code(secret, clock, steps=1)})
    assert near.status_code == 200, near.text


def test_full_width_code_with_a_space_is_accepted(client, clock):
    _, secret, _ = user_with_app(client, clock)
    code = app_code(secret, clock)
    typed = "".join(chr(ord(ch) + 0xFEE0) for ch in code[:3]) + " " + code[3:]
    challenge = start_login(client)
    answer = client.post(
        f"/api/v1/login/{challenge['challenge']}/verify", json={"method": "totp", "code": typed}
    )
    assert answer.status_code == 200, answer.text


def test_a_code_is_checked_only_against_the_method_chosen(client, clock):
    _, _, codes = user_with_app(client, clock)
    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    # A backup code typed as an app code is not valid as an app code.
    wrong = client.post(url, json={"method": "totp", "code": codes[0]})
    assert wrong.status_code == 400
    # ...and that backup code was not spent by the attempt.
    right = client.post(url, json={"method": "backup_code", "code": codes[0]})
    assert right.status_code == 200, right.text


def test_method_not_set_up_is_refused(client, clock):
    user_with_app(client, clock)
    challenge = start_login(client)
    answer = client.post(
        f"/api/v1/login/{challenge['challenge']}/verify", json={"method": "sms", "code": "123456"}
    )
    assert answer.status_code == 400
    assert answer.json()["code"] == "method_not_available"


def test_challenge_expires_after_ten_minutes_and_is_spent_by_success(client, clock):
    _, secret, _ = user_with_app(client, clock)
    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    clock.advance(minutes=10, seconds=1)
    late = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})
    assert late.status_code == 410
    assert late.json()["code"] == "challenge_expired"

    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    assert (
        client.post(url, json={"method": "totp", "code": app_code(secret, clock)}).status_code
        == 200
    )
    clock.advance(seconds=30)
    again = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})
    assert again.status_code == 410


def test_unknown_challenge_is_expired_not_an_error(client):
    for bogus in ["nope", "x" * 128, "%00", "' OR 1=1 --"]:
        answer = client.post(
            f"/api/v1/login/{bogus}/verify", json={"method": "totp", "code": "123456"}
        )
        assert answer.status_code in (404, 410, 422), (bogus, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_growing_delay_after_five_failures_across_methods_then_success_resets(client, clock):
    _, secret, _ = user_with_app(client, clock)
    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    for attempt in range(5):
        method = "totp" if attempt % 2 else "backup_code"
        assert (
            client.post(
                url, json={"method": method, "code": "00000000"[: 6 if method == "totp" else 8]}
            ).status_code
            == 400
        )
    blocked = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})
    assert blocked.status_code == 429
    assert blocked.json()["code"] == "too_many_attempts"
    first_wait = int(blocked.headers["Retry-After"])
    clock.advance(seconds=first_wait)
    assert client.post(url, json={"method": "totp", "code": "000000"}).status_code == 400
    second = client.post(url, json={"method": "totp", "code": "000000"})
    assert second.status_code == 429
    assert int(second.headers["Retry-After"]) > first_wait
    clock.advance(minutes=20)
    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    ok = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})
    assert ok.status_code == 200, ok.text
    # Success reset the counter: a new login gets five free tries again.
    clock.advance(seconds=30)
    challenge = start_login(client)
    url = f"/api/v1/login/{challenge['challenge']}/verify"
    for _ in range(4):
        assert client.post(url, json={"method": "totp", "code": "000000"}).status_code == 400
    assert (
        client.post(url, json={"method": "totp", "code": app_code(secret, clock)}).status_code
        == 200
    )


def test_hundred_failures_in_a_row_lock_the_second_factor(client, ctx, clock):
    """Counted for devices that never logged in (the owner's own have counts of their
    own: tests/attacks/test_second_factor_brute_force.py)."""
    from mamori.accounts.service import find_by_username
    from mamori.two_factor.service import record_second_factor_failure

    _, secret, _ = user_with_app(client, clock)
    with ctx.database.session() as db:
        user = find_by_username(db, "hana")
        assert user is not None
        for _ in range(99):
            record_second_factor_failure(db, ctx, user.id)
    clock.advance(hours=1)
    with app_client(ctx, peer=("198.51.100.66", 5000)) as elsewhere:
        challenge = start_login(elsewhere)
        url = f"/api/v1/login/{challenge['challenge']}/verify"
        assert elsewhere.post(url, json={"method": "totp", "code": "000000"}).status_code == 400
        clock.advance(hours=24)
        challenge = start_login(elsewhere)
        url = f"/api/v1/login/{challenge['challenge']}/verify"
        locked = elsewhere.post(url, json={"method": "totp", "code": app_code(secret, clock)})
    assert locked.status_code == 423
    assert locked.json()["code"] == "second_factor_locked"


def test_turning_two_factor_off_needs_a_recent_reauthentication(client, clock):
    token, _, _ = user_with_app(client, clock)
    clock.advance(minutes=11)
    refused = client.delete("/api/v1/me/two-factor", headers=bearer(token))
    assert refused.status_code == 403
    assert refused.json()["code"] == "reauthentication_required"
    assert (
        client.post(
            "/api/v1/me/reauthenticate", headers=bearer(token), json={"password": PASSWORD}
        ).status_code
        == 204
    )
    assert client.delete("/api/v1/me/two-factor", headers=bearer(token)).status_code == 204
    assert "Two-factor authentication is off" in outbox_subjects(client, "hana@example.com")
    login = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
    assert login.json()["status"] == "authenticated"
    status = client.get("/api/v1/me/two-factor", headers=bearer(token)).json()
    assert status == {"enabled": False, "methods": [], "default_method": None}


@pytest.mark.both_databases
def test_totp_secret_is_sealed_at_rest(client, ctx, clock):
    from sqlalchemy import text

    _, secret, _ = user_with_app(client, clock)
    with ctx.database.engine.connect() as connection:
        stored = connection.execute(
            text("SELECT sealed_secret FROM totp_authenticators")
        ).scalar_one()
    assert secret not in stored
    assert secret.lower() not in stored.lower()
