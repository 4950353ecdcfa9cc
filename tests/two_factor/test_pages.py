"""The two-factor pages in a browser-like client: set up an app, log in through the
challenge, "Try another way", backup codes (issue 3 + 4, without JavaScript)."""

from __future__ import annotations

import re

import pyotp

from tests.conftest import PASSWORD

SECURITY = "/accounts/center/password-and-security"
TWO_FACTOR = f"{SECURITY}/two-factor"


def csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def web_sign_up(client, username: str = "hana") -> None:
    page = client.get("/signup")
    answer = client.post(
        "/signup",
        data={
            "csrf_token": csrf(page.text),
            "username": username,
            "password": PASSWORD,
            "email": f"{username}@example.com",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text


def web_log_in(client, username: str = "hana"):
    page = client.get("/login")
    return client.post(
        "/login",
        data={"csrf_token": csrf(page.text), "login": username, "password": PASSWORD},
        follow_redirects=False,
    )


def turn_on_app(client, clock) -> tuple[str, list[str]]:
    setup = client.get(f"{TWO_FACTOR}/authenticator")
    assert setup.status_code == 200, setup.text
    assert "<svg" in setup.text
    key = re.search(r'<code id="totp-key" class="key">([A-Z2-7 ]+)</code>', setup.text)
    assert key, setup.text
    secret = key.group(1).replace(" ", "")
    done = client.post(
        f"{TWO_FACTOR}/authenticator",
        data={
            "csrf_token": csrf(setup.text),
            "code": pyotp.TOTP(secret).at(clock.now().timestamp()),
        },
    )
    assert done.status_code == 200
    assert done.headers["cache-control"] == "no-store"
    codes = re.findall(r"\b(\d{4} \d{4})\b", done.text)
    assert len(set(codes)) == 10, done.text
    clock.advance(seconds=30)
    return secret, sorted(set(codes))


def test_two_factor_page_offers_the_app_first_and_warns_about_sms(client):
    web_sign_up(client)
    page = client.get(TWO_FACTOR)
    assert page.status_code == 200
    assert page.text.index("Authentication app") < page.text.index("Text message")
    assert "Recommended" in page.text
    sms = client.get(f"{TWO_FACTOR}/text-message")
    assert "SIM swap" in sms.text
    assert 'autocomplete="tel"' in sms.text


def test_set_up_an_app_then_log_in_with_the_challenge_page(client, clock):
    web_sign_up(client)
    secret, _ = turn_on_app(client, clock)
    client.post("/logout", data={"csrf_token": csrf(client.get(TWO_FACTOR).text)})
    answer = web_log_in(client)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/login/two-factor"
    challenge = client.get("/login/two-factor")
    assert 'autocomplete="one-time-code"' in challenge.text
    assert 'inputmode="numeric"' in challenge.text
    assert "Try another way" in challenge.text
    wrong = client.post(
        "/login/two-factor",
        data={"csrf_token": csrf(challenge.text), "method": "totp", "code": "000000"},
    )
    assert wrong.status_code == 400
    assert 'role="alert"' in wrong.text
    done = client.post(
        "/login/two-factor",
        data={
            "csrf_token": csrf(challenge.text),
            "method": "totp",
            "code": pyotp.TOTP(secret).at(clock.now().timestamp()),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert client.get("/accounts/center").status_code == 200
    assert "Logged in as hana" in client.get("/accounts/center").text


def test_try_another_way_then_use_a_backup_code(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    client.post("/logout", data={"csrf_token": csrf(client.get(TWO_FACTOR).text)})
    web_log_in(client)
    other = client.get("/login/two-factor/methods")
    assert "Use your authenticator app" in other.text
    assert "Use a backup code" in other.text
    page = client.get("/login/two-factor?method=backup_code")
    assert "backup code" in page.text.lower()
    typed = codes[0].replace(" ", "-")
    done = client.post(
        "/login/two-factor",
        data={"csrf_token": csrf(page.text), "method": "backup_code", "code": typed},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    overview = client.get(TWO_FACTOR)
    assert "9 left" in overview.text


def test_challenge_page_without_a_login_in_progress_starts_over(client):
    page = client.get("/login/two-factor")
    assert page.status_code == 410
    assert "expired" in page.text


def test_turning_off_from_the_page_asks_to_confirm_its_you(client, clock):
    web_sign_up(client)
    turn_on_app(client, clock)
    clock.advance(minutes=11)
    answer = client.post(
        f"{TWO_FACTOR}/off",
        data={"csrf_token": csrf(client.get(TWO_FACTOR).text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/reauthenticate")
    assert "Two-factor authentication is on." in client.get(TWO_FACTOR).text
    page = client.get(answer.headers["location"])
    back = client.post(
        "/reauthenticate",
        data={"csrf_token": csrf(page.text), "password": PASSWORD, "next": TWO_FACTOR},
        follow_redirects=False,
    )
    assert back.status_code == 303
    client.post(f"{TWO_FACTOR}/off", data={"csrf_token": csrf(client.get(TWO_FACTOR).text)})
    assert "Two-factor authentication is off." in client.get(TWO_FACTOR).text


def test_forms_without_csrf_token_are_refused(client, clock):
    web_sign_up(client)
    for path in [
        f"{TWO_FACTOR}/authenticator",
        f"{TWO_FACTOR}/off",
        f"{TWO_FACTOR}/default",
        "/login/two-factor",
        "/login/two-factor/send",
    ]:
        answer = client.post(path, data={"code": "123456", "method": "totp"})
        assert answer.status_code == 403, path


def test_after_the_last_backup_code_the_user_is_taken_to_get_new_codes(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    for index, code in enumerate(codes):
        client.post("/logout", data={"csrf_token": csrf(client.get("/accounts/center").text)})
        web_log_in(client)
        page = client.get("/login/two-factor?method=backup_code")
        done = client.post(
            "/login/two-factor",
            data={"csrf_token": csrf(page.text), "method": "backup_code", "code": code},
            follow_redirects=False,
        )
        assert done.status_code == 303, done.text
        last = index == len(codes) - 1
        assert ("backup-codes" in done.headers["location"]) is last
