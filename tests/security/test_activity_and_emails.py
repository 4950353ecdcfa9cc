"""Login activity (sessions, logins and failed attempts from the audit log) and "Emails
from mamori" (what was sent in the last 14 days): only the caller's own, never a code."""

from __future__ import annotations

from typing import Any

from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import shown, web_log_in
from tests.security.helpers import EMAILS, IPHONE, SESSIONS, api_log_in
from tests.two_factor.helpers import last_code_sent_to, start_login, user_with_app

SESSION_FIELDS = {"id", "current", "user_agent", "device", "ip", "created_at", "last_seen_at"}


def activity(client, token: str) -> dict[str, Any]:
    response = client.get("/api/v1/me/login-activity", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def wrong_password(client, login: str = "hana") -> None:
    answer = client.post("/api/v1/login", json={"login": login, "password": "not it at all"})
    assert answer.status_code == 401


def test_failed_attempts_and_logins_are_listed_newest_first(client):
    sign_up(client)
    sign_up(client, "mallory")
    wrong_password(client)
    wrong_password(client, "mallory")
    wrong_password(client, "nobody")
    wrong_password(client)
    token = api_log_in(client, IPHONE)

    found = activity(client, token)

    assert [e["event"] for e in found["events"]] == [
        "login.succeeded",
        "login.password_failed",
        "login.password_failed",
    ]
    latest = found["events"][0]
    assert latest["device"] == "Safari on iPhone" and latest["succeeded"] is True
    assert found["events"][1]["title"] == "Wrong password"
    assert found["events"][1]["succeeded"] is False
    [session] = found["sessions"]
    assert set(session) == SESSION_FIELDS
    assert session["current"] is True


def test_a_wrong_second_factor_is_listed(client, clock):
    token, _, _ = user_with_app(client, clock)
    challenge = start_login(client)["challenge"]
    client.post(f"/api/v1/login/{challenge}/verify", json={"method": "totp", "code": "000000"})

    events = [e["event"] for e in activity(client, token)["events"]]

    assert events[0] == "login.second_factor_failed"


def test_only_the_last_30_days_are_listed(client, clock):
    sign_up(client)
    wrong_password(client)
    clock.advance(days=31)
    wrong_password(client)
    token = log_in(client)

    events = activity(client, token)["events"]

    assert [e["event"] for e in events] == ["login.succeeded", "login.password_failed"]


def test_the_page_shows_this_device_and_failed_attempts_in_both_languages(client):
    sign_up(client)
    api_log_in(client, IPHONE)
    wrong_password(client)
    web_log_in(client, "hana", PASSWORD)

    page = shown(client.get(SESSIONS))
    assert "This device" in page
    assert "Safari on iPhone" in page
    assert "Wrong password" in page
    assert "Recent logins and failed attempts" in page

    japanese = shown(client.get(SESSIONS, headers={"Accept-Language": "ja"}))
    assert "パスワードの誤り" in japanese
    assert "iPhoneのSafari" in japanese


def messages(client, token: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/me/emails", headers=bearer(token))
    assert response.status_code == 200, response.text
    return list(response.json()["messages"])


def change_password(client, token: str, current: str, new: str) -> None:
    answer = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": current, "new_password": new},
    )
    assert answer.status_code == 204


def test_emails_of_the_last_14_days_are_listed_and_older_ones_are_not(client, clock):
    sign_up(client, email="hana@example.com")
    token = log_in(client)
    change_password(client, token, PASSWORD, "first new passphrase")
    clock.advance(days=15)
    token = log_in(client, password="first new passphrase")
    change_password(client, token, "first new passphrase", "second new passphrase")

    [message] = messages(client, token)

    assert message["subject"] == "Your password was changed"
    assert message["channel"] == "email"
    assert message["to"] != "hana@example.com"
    assert message["to"].startswith("h") and message["to"].endswith(".com")
    assert message["status"] == "outbox"


def test_another_users_messages_never_show(client):
    sign_up(client, email="hana@example.com")
    sign_up(client, "mallory", email="mallory@example.com")
    change_password(client, log_in(client, "mallory"), PASSWORD, "mallory's new passphrase")
    token = log_in(client)

    assert messages(client, token) == []
    web_log_in(client, "hana", PASSWORD)
    page = shown(client.get(EMAILS))
    assert "Your password was changed" not in page
    assert "m•" not in page  # mallory's masked address
    # Only hana's own: the page's browser is a new device for her.
    assert page.count('class="row message"') == 1


def test_a_texted_code_is_listed_without_the_code(client):
    sign_up(client, email="hana@example.com")
    token = log_in(client)
    client.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": "09012345678"})
    code = last_code_sent_to(client, "+819012345678")

    listed = client.get("/api/v1/me/emails", headers=bearer(token))
    web_log_in(client, "hana", PASSWORD)
    page = client.get(EMAILS)

    [sms] = listed.json()["messages"]
    assert sms["channel"] == "sms"
    assert sms["subject"] == "Text message: security code"
    assert "+819012345678" not in listed.text and sms["to"].endswith("78")
    assert code not in listed.text
    assert code not in page.text
    assert "Text message: security code" in shown(page)
