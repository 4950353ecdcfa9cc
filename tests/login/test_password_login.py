"""POST /api/v1/login and /api/v1/logout: the password step as an app sees it."""

from __future__ import annotations

import pytest

from mamori.accounts.models import User
from mamori.sessions.models import LoginSession
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import count, events, problem


@pytest.fixture
def hana(client, ctx):
    """Her e-mail and phone confirmed (as Contact details leaves them): only a confirmed
    address logs in. Set in the database, so no login or code shows in these tests."""
    account = sign_up(client, "Hana_Sato", email="Hana@Example.com", phone="090-1234-5678")
    with ctx.database.session() as db:
        user = db.get(User, account["id"])
        user.email_confirmed_at = user.phone_confirmed_at = ctx.clock.now()
    return account


def me(client, token: str) -> dict[str, object]:
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


def test_login_answers_authenticated_with_a_token_that_opens_me(client, hana):
    response = client.post("/api/v1/login", json={"login": "Hana_Sato", "password": PASSWORD})

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "authenticated"
    assert len(body["token"]) >= 22  # at least 128 bits, URL-safe
    assert me(client, body["token"])["username"] == "Hana_Sato"
    assert response.headers["cache-control"] == "no-store"


@pytest.mark.parametrize(
    "login",
    [
        "Hana_Sato",
        "hana_sato",
        "ＨＡＮＡ＿ＳＡＴＯ",
        " hana_sato ",
        "hana@example.com",
        "HANA@EXAMPLE.COM",
        "Ｈａｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
        "090-1234-5678",
        "09012345678",
        "090 1234 5678",
        "(090) 1234-5678",
        "+81 90 1234 5678",
        "+81-90-1234-5678",
        "+819012345678",
        "０９０－１２３４－５６７８",
        "＋８１　９０　１２３４　５６７８",
        "090ー1234ー5678",  # katakana long-vowel mark, as a Japanese IME types it
        "090‐1234‐5678",  # U+2010 hyphen
        "090−1234−5678",  # U+2212 minus
    ],
)
def test_username_e_mail_or_phone_in_any_notation_logs_in(client, hana, login):
    token = log_in(client, login)

    assert me(client, token)["id"] == hana["id"]


def test_each_login_is_a_new_session_with_a_new_token(client, hana):
    first, second = log_in(client, "hana_sato"), log_in(client, "hana_sato")

    assert first != second
    listed = client.get("/api/v1/me/sessions", headers=bearer(first)).json()["sessions"]
    assert len(listed) == 2


def test_only_a_digest_of_the_token_is_stored(client, ctx, hana):
    token = log_in(client, "hana_sato")

    with ctx.database.session() as db:
        stored = [s.token_digest for s in db.query(LoginSession)]
    assert token not in stored
    assert all(len(digest) == 64 for digest in stored)


def test_wrong_password_and_unknown_account_answer_exactly_alike(client, hana):
    answers = [
        client.post("/api/v1/login", json={"login": login, "password": password})
        for login, password in [
            ("hana_sato", "not the password"),
            ("nobody_here", "not the password"),
            ("nobody@example.com", PASSWORD),
            ("080-9999-0000", PASSWORD),
        ]
    ]

    bodies = {response.content for response in answers}
    assert {response.status_code for response in answers} == {401}
    assert len(bodies) == 1
    problem(answers[0], 401, "invalid_credentials")
    # Date and the request id (random, made per answer) are the only headers that differ.
    varying = {"date", "x-request-id"}
    headers = [{k: v for k, v in r.headers.items() if k not in varying} for r in answers]
    assert all(h == headers[0] for h in headers)


def test_a_failed_login_starts_no_session(client, ctx, hana):
    client.post("/api/v1/login", json={"login": "hana_sato", "password": "wrong one"})

    assert count(ctx, LoginSession) == 0


def test_login_success_and_failure_are_audited_with_reason_ip_and_device(client, ctx, hana):
    agent = {"User-Agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"}
    client.post("/api/v1/login", json={"login": "hana_sato", "password": "nope"}, headers=agent)
    client.post("/api/v1/login", json={"login": "ghost", "password": "nope"}, headers=agent)
    client.post("/api/v1/login", json={"login": "hana_sato", "password": PASSWORD}, headers=agent)

    bad_password, unknown = events(ctx, "login.password_failed")
    [succeeded] = events(ctx, "login.succeeded")
    assert (bad_password.user_id, bad_password.details["reason"]) == (hana["id"], "bad_password")
    assert (unknown.user_id, unknown.details["reason"]) == (None, "unknown_account")
    assert bad_password.outcome == unknown.outcome == "failure"
    assert succeeded.user_id == hana["id"]
    assert succeeded.details["factor"] == "password"
    for event in (bad_password, unknown, succeeded):
        assert event.ip == "testclient"
        assert event.user_agent == agent["User-Agent"]
        assert "nope" not in str(event.details)
        assert PASSWORD not in str(event.details)


def test_logout_kills_the_token_on_the_server(client, ctx, hana):
    token, other = log_in(client, "hana_sato"), log_in(client, "hana_sato")

    response = client.post("/api/v1/logout", headers=bearer(token))

    assert response.status_code == 204
    problem(client.get("/api/v1/me", headers=bearer(token)), 401, "not_authenticated")
    problem(client.post("/api/v1/logout", headers=bearer(token)), 401, "not_authenticated")
    assert me(client, other)["id"] == hana["id"]
    [ended] = events(ctx, "session.ended")
    assert ended.user_id == hana["id"]


def test_logout_without_a_token_is_401(client):
    problem(client.post("/api/v1/logout"), 401, "not_authenticated")
