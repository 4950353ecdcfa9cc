"""A person in a browser never reads JSON: an address that doesn't exist, a form sent empty,
a crash and a throttle each answer a page in their language with a way back; the API and
probes keep problem+json."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from mamori.app import create_app
from tests.conftest import PASSWORD
from tests.core.helpers import csrf_from, shown, web_sign_up

PAGE = {"Accept": "text/html,application/xhtml+xml", "Accept-Language": "ja"}


def is_page(answer) -> bool:
    return answer.headers["content-type"].startswith("text/html") and "<h1>" in answer.text


def test_an_unknown_address_is_a_page_in_japanese_with_a_way_home(client):
    answer = client.get("/accounts/nowhere", headers=PAGE)

    assert answer.status_code == 404
    assert is_page(answer)
    assert "ページが見つかりません" in shown(answer)
    assert 'href="/"' in answer.text
    assert "{" not in answer.text.split("<body", 1)[1].split("<script", 1)[0].replace("{{", "")


def test_the_api_and_probes_keep_problem_json(client):
    for path in ("/api/v1/nowhere", "/nowhere"):
        answer = client.get(path, headers={"Accept": "application/json"})
        assert answer.status_code == 404
        assert answer.headers["content-type"] == "application/problem+json"
        assert answer.json()["code"] == "not_found"


@pytest.mark.parametrize("path", ["/login", "/signup", "/recovery", "/reauthenticate"])
def test_a_form_sent_empty_answers_a_page_not_json(client, path):
    token = csrf_from(client.get("/login"))

    answer = client.post(path, data={"csrf_token": token}, headers=PAGE, follow_redirects=False)

    assert answer.status_code in (303, 400, 401, 422)
    if answer.status_code != 303:
        assert is_page(answer), answer.text[:200]
        assert '"title"' not in answer.text


def test_a_form_sent_empty_even_without_an_accept_header_is_a_page(client):
    """Page routes answer pages whatever the client says it accepts: the same form again,
    with what is missing said beside each field."""
    token = csrf_from(client.get("/login"))

    answer = client.post("/login", data={"csrf_token": token}, headers={"Accept-Language": "en"})

    assert answer.status_code == 422
    assert is_page(answer)
    assert "<h1>Log in</h1>" in answer.text
    assert 'id="login-error" role="alert">Enter your username, e-mail or phone' in answer.text
    assert 'id="password-error" role="alert">Enter your password.<' in answer.text
    assert 'aria-describedby="login-error" aria-invalid="true"' in answer.text


def test_what_was_typed_comes_back_and_the_message_is_in_japanese(client):
    token = csrf_from(client.get("/recovery"))

    answer = client.post(
        "/recovery",
        data={"csrf_token": token, "login": "x" * 300},
        headers={"Accept-Language": "ja", "Referer": "http://localhost/recovery"},
    )

    assert answer.status_code == 422
    assert "長すぎます。254文字以内で入力してください。" in shown(answer)
    assert 'action="/recovery"' in answer.text


def test_a_referer_that_is_not_a_page_gives_the_forms_own_page(client):
    """Only a page is shown again: never the API, a probe or the outbox's JSON."""
    token = csrf_from(client.get("/login"))

    for elsewhere in ("/nowhere", "/api/v1/me", "/dev/outbox", "/healthz"):
        answer = client.post(
            "/login",
            data={"csrf_token": token},
            headers={**PAGE, "Referer": f"http://localhost{elsewhere}"},
        )

        assert answer.status_code == 422
        assert is_page(answer)
        assert 'action="/login"' in answer.text
        assert "パスワードを入力してください。" in shown(answer)


def test_a_page_that_crashes_says_so_in_words_and_changes_nothing(ctx, monkeypatch):
    from mamori.accounts_center import views

    def a_bug(*args: object) -> None:
        raise RuntimeError("a bug: the secret detail")

    app = create_app(context=ctx)
    with TestClient(app, base_url="http://localhost", raise_server_exceptions=False) as browser:
        web_sign_up(browser, "hana", PASSWORD)
        monkeypatch.setattr(views, "pending_recoveries", a_bug)
        answer = browser.get("/accounts/center", headers=PAGE)

    assert answer.status_code == 500
    assert is_page(answer), answer.text[:500]
    assert "システムで問題が発生しました" in shown(answer)
    assert "secret detail" not in answer.text


def test_an_error_the_form_route_does_not_catch_comes_back_on_the_same_page(client):
    """An expired form (its CSRF token gone) is the login page again, saying so, with a
    new token to send it with: not a separate error page."""
    client.get("/login")

    answer = client.post(
        "/login",
        data={"csrf_token": "x" * 43, "login": "hana", "password": "secret"},
        headers={**PAGE, "Referer": "http://localhost/login"},
    )

    assert answer.status_code == 403
    assert 'action="/login"' in answer.text
    assert 'class="alert error" role="alert"' in answer.text
    assert "このフォームの有効期限が切れました。" in shown(answer)
    assert 'value="hana"' not in answer.text  # nothing typed is echoed from a refused form


def test_a_wrong_method_on_a_page_address_is_a_page_with_a_way_back(client):
    """A bookmark of a form's address (GET on a POST-only path): a page, not JSON."""
    answer = client.get("/recovery/send", headers=PAGE)

    assert answer.status_code == 405
    assert is_page(answer), answer.text[:200]
    assert "このページはこの方法では開けません" in shown(answer)
    assert '"title"' not in answer.text
    assert 'href="/"' in answer.text
