"""The Passkeys pages: the list, adding one after "Confirm it's you", renaming, removing
(asked first), the login page's passkey form; in English and Japanese."""

from __future__ import annotations

import json
import re

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD
from tests.core.helpers import clock_of, csrf_from, events, shown, submit, web_log_in, web_sign_up
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import add_passkey
from tests.recovery.helpers import confirm_addresses, last_code_sent_to
from tests.two_factor.helpers import user_with_app

PAGE = "/accounts/center/password-and-security/passkeys"


def web_add(client: TestClient, phone: SoftAuthenticator) -> None:
    """What passkeys.js does on the "Add a passkey" page."""
    page = client.get(f"{PAGE}/new")
    assert page.status_code == 200, page.text
    token = csrf_from(page)
    options = client.post(f"{PAGE}/new/options", data={"csrf_token": token})
    assert options.status_code == 200, options.text
    credential = json.dumps(phone.create(options.json()))
    added = client.post(
        f"{PAGE}/new", data={"csrf_token": token, "credential": credential}, follow_redirects=False
    )
    assert added.status_code == 303, added.text
    assert added.headers["location"] == f"{PAGE}?done=added"


def first_passkey_id(client: TestClient) -> str:
    found = re.search(rf'href="{PAGE}/([0-9a-f]{{32}})"', client.get(PAGE).text)
    assert found
    return found.group(1)


def test_add_rename_and_remove_on_the_pages(client, ctx):
    web_sign_up(client, "hana", PASSWORD)
    web_add(client, SoftAuthenticator())
    listed = shown(client.get(f"{PAGE}?done=added"))
    assert "Passkey added. You can now log in with it." in listed
    assert "Not used yet" in listed
    passkey_id = first_passkey_id(client)

    page = client.get(f"{PAGE}/{passkey_id}")
    renamed = client.post(
        f"{PAGE}/{passkey_id}",
        data={"csrf_token": csrf_from(page), "name": "Work laptop"},
        follow_redirects=True,
    )
    assert "Passkey renamed." in shown(renamed)
    assert "Work laptop" in shown(renamed)

    asks = client.get(f"{PAGE}/{passkey_id}/remove")
    assert "Remove this passkey?" in shown(asks)
    unconfirmed = client.post(
        f"{PAGE}/{passkey_id}/remove", data={"csrf_token": csrf_from(asks)}, follow_redirects=False
    )
    assert unconfirmed.headers["location"] == f"{PAGE}/{passkey_id}/remove"
    removed = client.post(
        f"{PAGE}/{passkey_id}/remove",
        data={"csrf_token": csrf_from(asks), "confirm": "yes"},
        follow_redirects=True,
    )
    assert "Passkey removed. It can no longer log in." in shown(removed)
    assert "You haven't added a passkey yet." in shown(removed)
    assert [e.event for e in events(ctx) if e.event.startswith("passkey.")] == [
        "passkey.added",
        "passkey.renamed",
        "passkey.removed",
    ]


def test_a_name_too_long_comes_back_with_the_message_by_the_field(client):
    web_sign_up(client, "hana", PASSWORD)
    web_add(client, SoftAuthenticator())
    passkey_id = first_passkey_id(client)
    page = client.get(f"{PAGE}/{passkey_id}")

    answer = client.post(
        f"{PAGE}/{passkey_id}", data={"csrf_token": csrf_from(page), "name": "x" * 65}
    )

    assert answer.status_code == 422
    assert "Give the passkey a name of 1 to 64 characters" in shown(answer)


def test_adding_waits_for_confirm_its_you(client, clock):
    web_sign_up(client, "hana", PASSWORD)
    clock.advance(minutes=11)

    answer = client.get(f"{PAGE}/new", follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/reauthenticate")


def test_another_persons_passkey_page_is_not_found(client, ctx):
    web_sign_up(client, "hana", PASSWORD)
    web_add(client, SoftAuthenticator())
    passkey_id = first_passkey_id(client)
    client.post("/logout", data={"csrf_token": csrf_from(client.get(PAGE))})
    web_sign_up(client, "kenji", PASSWORD)

    assert client.get(f"{PAGE}/{passkey_id}").status_code == 404
    asks = client.get(PAGE)
    removed = client.post(
        f"{PAGE}/{passkey_id}/remove", data={"csrf_token": csrf_from(asks), "confirm": "yes"}
    )
    assert removed.status_code == 404
    assert events(ctx, "passkey.removed") == []


def test_the_login_page_offers_a_passkey_in_japanese(client):
    page = client.get("/login", headers={"Accept-Language": "ja"})

    assert "パスキーでログイン" in page.text
    assert 'autocomplete="username webauthn"' in page.text


def test_a_passkey_login_on_the_page(client):
    web_sign_up(client, "hana", PASSWORD)
    phone = SoftAuthenticator()
    web_add(client, phone)
    client.post("/logout", data={"csrf_token": csrf_from(client.get(PAGE))})
    login = client.get("/login")
    token = csrf_from(login)
    options = client.post("/login/passkey/options", data={"csrf_token": token}).json()

    answer = client.post(
        "/login/passkey",
        data={"csrf_token": token, "credential": json.dumps(phone.get(options)), "next": "/"},
        follow_redirects=False,
    )

    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/accounts/center"
    assert "Logged in as hana" in shown(client.get("/accounts/center"))


def test_a_refused_passkey_on_the_login_page_says_so(client):
    web_sign_up(client, "hana", PASSWORD)
    phone = SoftAuthenticator()
    web_add(client, phone)
    client.post("/logout", data={"csrf_token": csrf_from(client.get(PAGE))})
    token = csrf_from(client.get("/login"))
    options = client.post("/login/passkey/options", data={"csrf_token": token}).json()

    answer = client.post(
        "/login/passkey",
        data={
            "csrf_token": token,
            "credential": json.dumps(phone.get(options, user_verified=False)),
        },
    )

    assert answer.status_code == 400
    assert "That passkey wasn't accepted. Try again, or use another way." in shown(answer)
    assert client.get("/accounts/center", follow_redirects=False).status_code == 303


def test_the_two_factor_step_offers_the_passkey_first_and_in_another_way(client, ctx):
    web_sign_up(client, "hana", PASSWORD)
    web_add(client, SoftAuthenticator())
    page = client.get("/accounts/center/password-and-security/two-factor")
    turned_on = client.post(
        "/accounts/center/password-and-security/two-factor/passkey",
        data={"csrf_token": csrf_from(page)},
        follow_redirects=True,
    )
    assert "Two-factor authentication is on" in shown(turned_on)
    assert "your password and your passkey, or your passkey alone" in shown(turned_on)
    client.post("/logout", data={"csrf_token": csrf_from(client.get(PAGE))})

    step = web_log_in(client, "hana", PASSWORD)
    assert step.headers["location"] == "/login/two-factor"
    first = client.get("/login/two-factor")
    other_ways = client.get("/login/two-factor/methods")

    assert "Use your passkey" in shown(first)
    assert "Use a passkey" in shown(other_ways)
    assert "Use a backup code" in shown(other_ways)


def test_a_passkey_is_a_recovery_proof_on_the_pages(client, ctx):
    token, _secret, _codes = user_with_app(client, clock_of(ctx))
    phone = SoftAuthenticator()
    add_passkey(client, token, phone)
    confirm_addresses(ctx, "hana")
    submit(client, "/recovery", "/recovery", login="hana")
    submit(client, "/recovery/options", "/recovery/send", option="email")
    code = last_code_sent_to(client, "hana@example.com")
    submit(client, "/recovery/code", "/recovery/code", option="email", code=code)

    more = client.get("/recovery/more")
    assert "Use a passkey" in shown(more)
    way = client.get("/recovery/more?way=passkey")
    assert "Instant. Two-factor authentication stays on." in shown(way)
    token_field = csrf_from(way)
    options = client.post("/recovery/passkey-options", data={"csrf_token": token_field})
    assert options.status_code == 200, options.text
    proven = client.post(
        "/recovery/passkey",
        data={"csrf_token": token_field, "credential": json.dumps(phone.get(options.json()))},
        follow_redirects=False,
    )

    assert proven.status_code == 303, proven.text
    assert proven.headers["location"] == "/recovery/new-password"
    assert "waiting period" not in shown(client.get("/recovery/new-password"))
