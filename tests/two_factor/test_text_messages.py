"""Text-message codes: turning them on for a phone, and logging in with them (issue 3)."""

from __future__ import annotations

from tests.conftest import bearer, log_in, sign_up
from tests.two_factor.helpers import last_code_sent_to, outbox_subjects, start_login


def turn_on_text_messages(client, phone: str = "090-1234-5678") -> tuple[str, list[str]]:
    sign_up(client, email="hana@example.com")
    token = log_in(client)
    sent = client.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": phone})
    assert sent.status_code == 202, sent.text
    code = last_code_sent_to(client, "+819012345678")
    confirmed = client.post(
        "/api/v1/me/two-factor/sms/confirm", headers=bearer(token), json={"code": code}
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["enabled"] is True
    return token, confirmed.json()["backup_codes"]


def test_any_common_notation_reaches_the_same_e164_number(client):
    for notation in [
        "090-1234-5678",
        "+81 90 1234 5678",
        "０９０１２３４５６７８",
        "(090) 1234-5678",
    ]:
        client.cookies.clear()
        username = f"u{abs(hash(notation)) % 10**8}"
        sign_up(client, username)
        token = log_in(client, username)
        sent = client.post(
            "/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": notation}
        )
        assert sent.status_code == 202, (notation, sent.text)
        assert last_code_sent_to(client, "+819012345678")


def test_a_number_counts_only_after_its_code_is_confirmed(client):
    sign_up(client)
    token = log_in(client)
    client.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": "09012345678"})
    status = client.get("/api/v1/me/two-factor", headers=bearer(token)).json()
    assert status["enabled"] is False
    login = client.post(
        "/api/v1/login", json={"login": "hana", "password": "correct horse battery staple"}
    )
    assert login.json()["status"] == "authenticated"
    wrong = client.post(
        "/api/v1/me/two-factor/sms/confirm", headers=bearer(token), json={"code": "000000"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["code"] == "invalid_code"


def test_bad_phone_numbers_are_refused_clearly(client):
    sign_up(client)
    token = log_in(client)
    for phone in ["hello", "123", "+1 555", "\u0000", "<script>", "9" * 32]:
        answer = client.post(
            "/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": phone}
        )
        assert answer.status_code == 422, (phone, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")


def test_log_in_with_a_texted_code_and_resend_replaces_the_old_code(client, clock, settings):
    _, codes = turn_on_text_messages(client)
    assert len(codes) == 10
    challenge = start_login(client)
    assert challenge["methods"] == ["sms", "backup_code"]
    base = f"/api/v1/login/{challenge['challenge']}"
    first = client.post(f"{base}/send", json={"method": "sms"})
    assert first.status_code == 202, first.text
    assert first.json()["sent_to"].endswith("78") and "1234" not in first.json()["sent_to"]
    old_code = last_code_sent_to(client, "+819012345678")
    too_soon = client.post(f"{base}/send", json={"method": "sms"})
    assert too_soon.status_code == 429 and int(too_soon.headers["Retry-After"]) > 0
    clock.advance(seconds=settings.security_code_resend_seconds + 1)
    assert client.post(f"{base}/send", json={"method": "sms"}).status_code == 202
    new_code = last_code_sent_to(client, "+819012345678")
    if old_code != new_code:
        stale = client.post(f"{base}/verify", json={"method": "sms", "code": old_code})
        assert stale.status_code in (400, 410)
    answer = client.post(f"{base}/verify", json={"method": "sms", "code": new_code})
    assert answer.status_code == 200, answer.text
    assert client.get("/api/v1/me", headers=bearer(answer.json()["token"])).status_code == 200


def test_a_texted_code_belongs_to_the_login_that_asked_for_it(client):
    turn_on_text_messages(client)
    first = start_login(client)
    client.post(f"/api/v1/login/{first['challenge']}/send", json={"method": "sms"})
    code = last_code_sent_to(client, "+819012345678")
    second = start_login(client)
    stolen = client.post(
        f"/api/v1/login/{second['challenge']}/verify", json={"method": "sms", "code": code}
    )
    assert stolen.status_code in (400, 410)
    assert stolen.status_code != 200


def test_sms_is_not_offered_as_email_and_email_codes_are_off_by_default(client):
    turn_on_text_messages(client)
    challenge = start_login(client)
    answer = client.post(f"/api/v1/login/{challenge['challenge']}/send", json={"method": "email"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "method_not_available"


def test_adding_an_app_after_sms_is_a_change_the_user_hears_about(client, clock):
    from tests.two_factor.helpers import app_code

    token, _ = turn_on_text_messages(client)
    secret = client.post("/api/v1/me/two-factor/totp", headers=bearer(token)).json()["secret"]
    added = client.post(
        "/api/v1/me/two-factor/totp/confirm",
        headers=bearer(token),
        json={"code": app_code(secret, clock)},
    )
    assert added.status_code == 200
    assert added.json()["backup_codes"] == []  # two-factor was already on
    assert "A two-factor method was added" in outbox_subjects(client, "hana@example.com")
    assert (
        client.put(
            "/api/v1/me/two-factor/default", headers=bearer(token), json={"method": "totp"}
        ).status_code
        == 204
    )
    clock.advance(seconds=30)
    assert start_login(client)["methods"] == ["totp", "sms", "backup_code"]
    assert client.delete("/api/v1/me/two-factor/totp", headers=bearer(token)).status_code == 204
    assert start_login(client)["methods"] == ["sms", "backup_code"]
