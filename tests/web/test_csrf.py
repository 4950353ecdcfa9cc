"""Every state-changing form needs the CSRF token of the browser that loaded it."""

from __future__ import annotations

import re

import pytest

from mamori.accounts.models import User
from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import count, csrf_from, routes, shown, web_log_in

SECURITY = "/accounts/center/password-and-security"


def form_expired(response) -> None:
    """The form is refused with a page that says what to do, never JSON."""
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "This form expired; reload the page and try again" in shown(response)


def form_actions(client) -> list[str]:
    """Every POST page route: the targets of HTML forms. (Not the JSON API, nor the
    OpenID Connect endpoints apps call with their own credentials, such as /oauth/token,
    nor the authorization endpoint: an app's own page posts there, cross-site by design,
    and it changes nothing; it answers with the same request as a GET.)"""
    pages = {getattr(route, "path", "") for route in client.app.state.pages.values()}
    return sorted(
        r.path
        for r in routes(client.app)
        if "POST" in r.methods
        and r.path in pages
        and "{" not in r.path
        and r.path not in APPS_POST_HERE
    )


APPS_POST_HERE = {"/oauth/authorize"}


def test_the_foundation_forms_are_all_found(client):
    assert {
        "/signup",
        "/login",
        "/logout",
        "/language",
        "/reauthenticate",
        f"{SECURITY}/password",
        f"{SECURITY}/sessions/end",
    } <= set(form_actions(client))


def test_every_form_refuses_a_post_without_a_token(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    client.cookies.delete("mamori_csrf")

    for action in form_actions(client):
        response = client.post(action, data={"password": PASSWORD}, follow_redirects=False)
        form_expired(response)


@pytest.mark.parametrize("token", ["", "x", "A" * 43, "A" * 200])
def test_every_form_refuses_a_wrong_token(client, token):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    assert client.cookies.get("mamori_csrf")

    for action in form_actions(client):
        response = client.post(
            action, data={"csrf_token": token, "password": PASSWORD}, follow_redirects=False
        )
        if len(token) > 128:  # longer than any token: refused before it is compared
            assert response.status_code == 422
            assert response.headers["content-type"].startswith("text/html")
        else:
            form_expired(response)


def test_a_token_from_another_browser_does_not_work(ctx, client):
    from tests.core.helpers import app_client

    with app_client(ctx) as attacker:
        attacker_token = csrf_from(attacker.get("/signup"))
    client.get("/signup")  # the victim's browser has its own token

    response = client.post(
        "/signup",
        data={"csrf_token": attacker_token, "username": "victim", "password": PASSWORD},
    )

    form_expired(response)
    assert count(ctx, User) == 0


def test_a_forged_logout_leaves_the_person_logged_in(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)

    form_expired(client.post("/logout", follow_redirects=False))

    assert client.get("/accounts/center", follow_redirects=False).status_code == 200


def test_a_forged_password_change_changes_nothing(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)

    response = client.post(
        f"{SECURITY}/password",
        data={"current_password": PASSWORD, "new_password": "attacker chosen pass"},
    )

    form_expired(response)
    assert (
        client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD}).status_code
        == 200
    )


def test_every_post_form_on_the_pages_carries_the_token(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    pages = [
        "/login",
        "/signup",
        "/accounts/center",
        SECURITY,
        f"{SECURITY}/password",
        f"{SECURITY}/sessions",
        "/reauthenticate",
    ]
    for path in pages:
        page = client.get(path)
        assert page.status_code == 200, path
        forms = re.findall(r"<form\b[^>]*>.*?</form>", page.text, flags=re.S | re.I)
        assert forms, path
        for form in forms:
            if 'method="post"' in form.lower():
                assert 'name="csrf_token"' in form, f"{path}: {form[:120]}"
