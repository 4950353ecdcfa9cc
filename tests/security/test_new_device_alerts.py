"""A login from a device the account has not used before alerts the owner once, by
e-mail and in the alerts list; a known device, and every other event, does not."""

from __future__ import annotations

from tests.conftest import PASSWORD, bearer, sign_up
from tests.core.helpers import app_client, web_log_in, web_sign_up
from tests.security.helpers import (
    ANDROID_APP,
    IPHONE,
    WINDOWS,
    alert_events,
    api_log_in,
    subjects_to,
)
from tests.two_factor.helpers import app_code, start_login, user_with_app

NEW_DEVICE = "New login from a device we don't recognise"
MAIL = "hana@example.com"


def test_the_first_login_after_sign_up_is_not_a_new_device(client):
    sign_up(client, email=MAIL)

    token = api_log_in(client, ANDROID_APP)

    assert NEW_DEVICE not in subjects_to(client, MAIL)
    assert "login.new_device" not in alert_events(client, token)


def test_the_same_app_again_is_known_and_another_device_alerts_once(client):
    sign_up(client, email=MAIL)
    api_log_in(client, ANDROID_APP)
    api_log_in(client, ANDROID_APP)
    assert NEW_DEVICE not in subjects_to(client, MAIL)

    token = api_log_in(client, IPHONE)
    api_log_in(client, IPHONE)  # now known: no second alert

    assert subjects_to(client, MAIL).count(NEW_DEVICE) == 1
    assert alert_events(client, token).count("login.new_device") == 1
    [mail] = [m for m in client.get("/dev/outbox").json() if m["subject"] == NEW_DEVICE]
    assert "Safari on iPhone" in mail["body"]
    assert "/accounts/wasnt-me/" in mail["body"]


def test_a_browser_is_recognised_by_its_device_cookie_not_its_user_agent(client, ctx):
    sign_up(client, email=MAIL)
    web_log_in(client, "hana", PASSWORD)  # this browser becomes the first known device
    client.cookies.delete("mamori_session")  # logged out; the device cookie stays
    web_log_in(client, "hana", PASSWORD)
    assert NEW_DEVICE not in subjects_to(client, MAIL)

    # Another browser with the very same User-Agent is still another device.
    with app_client(ctx) as other_browser:
        assert web_log_in(other_browser, "hana", PASSWORD).status_code == 303
        assert other_browser.cookies.get("mamori_device")

    assert subjects_to(client, MAIL).count(NEW_DEVICE) == 1


def test_a_login_with_two_factor_alerts_only_once_the_second_factor_is_done(client, clock):
    _, secret, _ = user_with_app(client, clock)  # logged in once from the test client
    headers = {"User-Agent": WINDOWS}

    challenge = client.post(
        "/api/v1/login", json={"login": "hana", "password": PASSWORD}, headers=headers
    ).json()["challenge"]
    assert NEW_DEVICE not in subjects_to(client, MAIL)  # the password alone is no login yet

    token = client.post(
        f"/api/v1/login/{challenge}/verify",
        json={"method": "totp", "code": app_code(secret, clock)},
        headers=headers,
    ).json()["token"]

    assert subjects_to(client, MAIL).count(NEW_DEVICE) == 1
    assert alert_events(client, token).count("login.new_device") == 1


def test_password_changes_and_two_factor_changes_are_not_new_device_alerts(client, clock):
    token, _, _ = user_with_app(client, clock)
    change = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert change.status_code == 204

    assert NEW_DEVICE not in subjects_to(client, MAIL)
    events = alert_events(client, token)
    assert events.count("password.changed") == 1
    assert events.count("two_factor.turned_on") == 1
    assert "login.new_device" not in events
    assert "login.succeeded" not in events


def test_each_security_change_is_listed_once_newest_first(client, clock):
    token, _, codes = user_with_app(client, clock)
    challenge = start_login(client)["challenge"]
    used = client.post(
        f"/api/v1/login/{challenge}/verify", json={"method": "backup_code", "code": codes[0]}
    )
    assert used.status_code == 200
    regenerated = client.post("/api/v1/me/backup-codes", headers=bearer(token))
    assert regenerated.status_code == 201

    events = alert_events(client, token)

    assert events[:2] == ["backup_codes.regenerated", "backup_codes.used"]
    assert events.count("backup_codes.used") == 1
    assert events.count("two_factor.turned_on") == 1
    assert events.count("two_factor.method_added") == 1


def test_after_signing_up_on_the_web_the_app_and_that_browser_are_both_known(client):
    assert web_sign_up(client, "hana", PASSWORD, email=MAIL).status_code == 303
    api_log_in(client, ANDROID_APP)  # the first login after sign-up: never "new"
    client.cookies.delete("mamori_session")
    web_log_in(client, "hana", PASSWORD)  # the browser that signed up
    assert NEW_DEVICE not in subjects_to(client, MAIL)

    api_log_in(client, IPHONE)

    assert subjects_to(client, MAIL).count(NEW_DEVICE) == 1


def test_an_unknown_user_agent_is_never_quoted_in_the_alert(client):
    """A User-Agent is whatever the client sends: quoted, it would put an attacker's words
    ("click http://…") into a mail the owner trusts. Only a parsed name goes in."""
    sign_up(client, email=MAIL)
    api_log_in(client, ANDROID_APP)
    hostile = "EvilBot/1.0 click http://phish.example"

    token = api_log_in(client, hostile)

    [mail] = [m for m in client.get("/dev/outbox").json() if m["subject"] == NEW_DEVICE]
    for part in ("EvilBot", "phish", "click", "http://phish"):
        assert part not in mail["body"]
    assert "new device: Unknown device," in mail["body"]
    sessions = client.get("/api/v1/me/sessions", headers=bearer(token)).json()["sessions"]
    assert {s["device"] for s in sessions} == {"Android app", "Unknown device"}
