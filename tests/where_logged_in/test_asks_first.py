"""Issue 12: logging out everywhere else asks first and says what happened."""

from __future__ import annotations

from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import csrf_from, web_log_in

SESSIONS = "/accounts/center/password-and-security/sessions"


def test_logging_out_of_all_other_sessions_asks_first_then_says_so(client):
    sign_up(client, "hana")
    others = [log_in(client), log_in(client)]
    web_log_in(client, "hana", PASSWORD)

    page = client.get(SESSIONS)
    assert f'href="{SESSIONS}/end-others"' in page.text
    asked = client.get(f"{SESSIONS}/end-others")
    assert "Log out of all other sessions?" in asked.text
    assert "(2) will be logged out" in asked.text
    assert "This device stays logged in." in asked.text
    assert 'class="danger"' in asked.text and "Cancel" in asked.text
    assert all(client.get("/api/v1/me", headers=bearer(t)).status_code == 200 for t in others)

    done = client.post(f"{SESSIONS}/end", data={"csrf_token": csrf_from(asked)})
    assert 'class="alert success"' in done.text
    assert "You were logged out of all other sessions." in done.text
    assert all(client.get("/api/v1/me", headers=bearer(t)).status_code == 401 for t in others)


def test_with_no_other_session_there_is_nothing_to_ask(client):
    sign_up(client, "hana")
    web_log_in(client, "hana", PASSWORD)
    page = client.get(f"{SESSIONS}/end-others")
    assert page.url.path == SESSIONS
    assert "Log out of all other sessions?" not in page.text


def test_the_question_is_in_japanese_for_a_japanese_page(client):
    sign_up(client, "hana")
    log_in(client)
    web_log_in(client, "hana", PASSWORD)
    client.cookies.set("mamori_lang", "ja")
    asked = client.get(f"{SESSIONS}/end-others")
    assert "他のすべての場所からログアウトしますか？" in asked.text
    assert "キャンセル" in asked.text
