"""The pages a person uses without JavaScript: sign up, log in, log out, change password,
where you're logged in, confirm it's you."""

from __future__ import annotations

import re

from mamori.accounts.models import User
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import count, csrf_from, events, shown, submit, web_log_in, web_sign_up

SECURITY = "/accounts/center/password-and-security"


def test_front_door_sends_a_visitor_to_log_in(client):
    response = client.get("/", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def test_the_sign_up_form_suits_password_managers_and_phones(client):
    page = client.get("/signup")

    assert page.status_code == 200
    assert 'autocomplete="username"' in page.text
    assert 'autocomplete="new-password"' in page.text
    assert 'type="tel"' in page.text
    for field in ("username", "password", "email", "phone"):
        assert f'<label for="{field}">' in page.text


def test_signing_up_on_the_page_lands_in_the_accounts_center_logged_in(client, ctx):
    response = web_sign_up(client, "hana", PASSWORD, email="hana@example.com")

    assert response.status_code == 303
    assert response.headers["location"] == "/signup/confirm"  # the e-mail's code, or Later
    center = client.get("/accounts/center")
    assert "Logged in as hana" in center.text
    assert count(ctx, User) == 1
    assert log_in(client, "hana")  # the e-mail logs in once confirmed


def test_a_refused_sign_up_shows_why_and_keeps_what_was_typed_except_the_password(client, ctx):
    response = web_sign_up(client, "hana", "1qaz2wsx3edc4rfv", email="hana@example.com")

    assert response.status_code == 422
    assert "That password is one of the most common; choose another" in response.text
    assert 'value="hana"' in response.text
    assert 'value="hana@example.com"' in response.text
    assert "1qaz2wsx3edc4rfv" not in response.text
    assert 'role="alert"' in response.text
    assert count(ctx, User) == 0


def test_a_short_password_message_says_how_long(client):
    assert "At least 15 characters. A long phrase is best." in client.get("/signup").text

    response = web_sign_up(client, "hana", "kx9#")

    assert "Use at least 15 characters" in response.text
    assert "At least 15 characters. A long phrase is best." in response.text


def test_signing_up_on_the_page_with_a_registered_e_mail_looks_like_any_sign_up(client, ctx):
    hana = sign_up(client, "hana", email="hana@example.com")
    with ctx.database.session() as db:
        db.get(User, hana["id"]).email_confirmed_at = ctx.clock.now()

    response = web_sign_up(client, "mallory", PASSWORD, email="hana@example.com")

    assert response.status_code == 303
    assert response.headers["location"] == "/signup/confirm"  # as for any typed e-mail
    assert client.get("/dev/outbox").json()[0]["to"] == "hana@example.com"


def test_logging_in_on_the_page_goes_where_the_person_was_heading(client):
    sign_up(client, "hana")
    login_page = client.get(f"/login?next={SECURITY}")
    assert f'value="{SECURITY}"' in login_page.text

    response = web_log_in(client, "hana", PASSWORD, next=SECURITY)

    assert response.status_code == 303
    assert response.headers["location"] == SECURITY
    assert "Password and security" in client.get(SECURITY).text


def test_a_failed_login_on_the_page_says_so_and_keeps_the_login_not_the_password(client):
    sign_up(client, "hana")

    wrong = web_log_in(client, "hana", "not my password")
    unknown = web_log_in(client, "nobody", "not my password")

    assert wrong.status_code == unknown.status_code == 401
    assert "The login or password isn't right" in shown(wrong)
    assert 'value="hana"' in wrong.text
    assert "not my password" not in wrong.text
    strip = re.compile(r'value="[^"]*"')
    assert strip.sub("", wrong.text) == strip.sub("", unknown.text)


def test_pages_behind_login_send_a_visitor_to_log_in_and_back(client):
    for path in ("/accounts/center", SECURITY, f"{SECURITY}/password", f"{SECURITY}/sessions"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303, path
        assert response.headers["location"] == f"/login?next={path}"


def test_logging_out_kills_the_session_on_the_server(client, ctx):
    sign_up(client, "hana")
    web_log_in(client, "hana", PASSWORD)
    stolen_cookie = client.cookies["mamori_session"]

    response = submit(client, "/accounts/center", "/logout")

    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert 'mamori_session=""' in response.headers["set-cookie"]
    client.cookies.set("mamori_session", stolen_cookie)
    again = client.get("/accounts/center", follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/login")
    assert len(events(ctx, "session.ended")) == 1


def test_the_password_and_security_page_leads_to_each_setting(client):
    sign_up(client, "hana")
    web_log_in(client, "hana", PASSWORD)

    page = client.get(SECURITY)

    assert page.status_code == 200
    assert f'href="{SECURITY}/password"' in page.text
    assert f'href="{SECURITY}/sessions"' in page.text
    assert "1 active" in page.text


def test_changing_the_password_on_the_page_logs_out_the_other_devices(client):
    sign_up(client, "hana", email="hana@example.com")
    other_device = log_in(client)
    web_log_in(client, "hana", PASSWORD)

    response = submit(
        client,
        f"{SECURITY}/password",
        f"{SECURITY}/password",
        current_password=PASSWORD,
        new_password="a brand new passphrase",
    )

    assert response.status_code == 200
    assert "Your password was changed and your other sessions were logged out." in response.text
    assert client.get("/api/v1/me", headers=bearer(other_device)).status_code == 401
    assert client.get("/accounts/center", follow_redirects=False).status_code == 200
    assert client.get("/dev/outbox").json()[0]["subject"] == "Your password was changed"


def test_a_wrong_current_password_on_the_page_is_shown_and_nothing_changes(client):
    sign_up(client, "hana")
    web_log_in(client, "hana", PASSWORD)

    response = submit(
        client,
        f"{SECURITY}/password",
        f"{SECURITY}/password",
        current_password="nope",
        new_password="a brand new passphrase",
    )

    assert response.status_code == 401
    assert "The password isn't right" in shown(response)
    assert log_in(client, password=PASSWORD)


def test_the_sessions_page_lists_devices_and_logs_one_out(client):
    sign_up(client, "hana")
    phone = client.post(
        "/api/v1/login",
        json={"login": "hana", "password": PASSWORD},
        headers={"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Mobile Safari/604.1"},
    ).json()["token"]
    web_log_in(client, "hana", PASSWORD)

    page = client.get(f"{SECURITY}/sessions")
    assert "Safari on iPhone" in page.text
    assert "This device" in page.text
    phone_id = re.search(r'name="session_id" value="([^"]+)"', page.text)
    assert phone_id

    response = client.post(
        f"{SECURITY}/sessions/end",
        data={"csrf_token": csrf_from(page), "session_id": phone_id.group(1)},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert client.get("/api/v1/me", headers=bearer(phone)).status_code == 401
    # Its login stays in "Recent logins" below; the list of sessions no longer has it.
    sessions = client.get(f"{SECURITY}/sessions").text.split('id="activity"')[0]
    assert "Safari on iPhone" not in sessions


def test_log_out_of_all_other_sessions_keeps_this_one(client):
    sign_up(client, "hana")
    others = [log_in(client), log_in(client)]
    web_log_in(client, "hana", PASSWORD)

    submit(client, f"{SECURITY}/sessions", f"{SECURITY}/sessions/end")

    assert all(client.get("/api/v1/me", headers=bearer(t)).status_code == 401 for t in others)
    assert client.get(f"{SECURITY}/sessions", follow_redirects=False).status_code == 200


def test_confirm_its_you_goes_on_to_the_next_page(client):
    sign_up(client, "hana")
    web_log_in(client, "hana", PASSWORD)

    wrong = submit(
        client,
        f"/reauthenticate?next={SECURITY}",
        "/reauthenticate",
        password="nope",
        next=SECURITY,
    )
    right = submit(
        client,
        f"/reauthenticate?next={SECURITY}",
        "/reauthenticate",
        password=PASSWORD,
        next=SECURITY,
    )

    assert wrong.status_code == 401
    assert "The password isn't right" in shown(wrong)
    assert right.status_code == 303
    assert right.headers["location"] == SECURITY


def test_html_typed_into_a_form_is_shown_as_text(client):
    response = web_log_in(client, '<script>alert("x")</script>', "whatever it is")

    assert "<script>alert" not in response.text
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in response.text


def test_in_production_the_development_outbox_does_not_exist(ctx):
    from tests.core.helpers import app_client, with_settings

    with app_client(with_settings(ctx, env="production")) as production:
        response = production.get("/dev/outbox")

    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
