"""Hostile input on the security center's routes: a clear 4xx, nothing stored, and
nobody else's data."""

from __future__ import annotations

import pytest

from mamori.security.models import DisownedEvent
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import count, csrf_from, events, problem, shown, web_log_in
from tests.security.helpers import ALERTS

pytestmark = pytest.mark.both_databases

ME_ROUTES = [
    ("get", "/api/v1/me/alerts"),
    ("get", "/api/v1/me/emails"),
    ("get", "/api/v1/me/login-activity"),
    ("get", "/api/v1/me/security/checkup"),
    ("post", "/api/v1/me/security/checkup/reviewed"),
    ("post", "/api/v1/me/password/new"),
]


@pytest.mark.parametrize(("method", "path"), ME_ROUTES)
def test_every_me_route_needs_a_live_token(client, method, path):
    for headers in (
        {},
        bearer("x" * 43),
        {"Authorization": "Bearer \u00e9".encode("latin-1")},
        bearer("a" * 5000),
    ):
        answer = client.request(method, path, headers=headers, json={"new_password": "x" * 20})
        problem(answer, 401, "not_authenticated")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"token": 123},
        {"token": ["1.2.3"]},
        {"token": "a" * 129},
        {"token": None},
    ],
)
def test_a_malformed_wasnt_me_request_is_refused_clearly(client, ctx, body):
    problem(client.post("/api/v1/wasnt-me", json=body), 422, "invalid_request")
    assert count(ctx, DisownedEvent) == 0


@pytest.mark.parametrize(
    "token",
    [
        "\x00",
        "1.2.\x00",
        "１.２." + "a" * 64,
        "../../etc/passwd",
        "1.99999999999." + "é" * 64,
        "-1.-1.a",
    ],
)
def test_odd_tokens_are_just_not_valid(client, ctx, token):
    problem(client.post("/api/v1/wasnt-me", json={"token": token}), 410, "link_not_valid")
    assert count(ctx, DisownedEvent) == 0
    assert events(ctx, "security.wasnt_me") == []


@pytest.mark.parametrize("path", ["%00", "1.2.%00", "%EF%BC%91.2.3", "a" * 200, "1.2.3%0d%0aX: y"])
def test_odd_link_paths_answer_4xx_and_change_nothing(client, ctx, path):
    answer = client.get(f"/accounts/wasnt-me/{path}")
    assert 400 <= answer.status_code < 500
    posted = client.post(f"/accounts/wasnt-me/{path}", data={"csrf_token": "x"})
    assert 400 <= posted.status_code < 500
    assert count(ctx, DisownedEvent) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"new_password": 5},
        {"new_password": "x" * 4097},
        {"password": "x" * 20},
        {"new_password": ""},
    ],
)
def test_a_malformed_new_password_is_refused_clearly(client, body):
    sign_up(client)
    token = log_in(client)
    problem(
        client.post("/api/v1/me/password/new", headers=bearer(token), json=body),
        422,
        "invalid_request",
    )


def test_a_new_password_is_only_for_a_held_account(client):
    sign_up(client)
    token = log_in(client)

    problem(
        client.post(
            "/api/v1/me/password/new", headers=bearer(token), json={"new_password": "x" * 20}
        ),
        409,
        "password_change_not_required",
    )
    assert log_in(client, password=PASSWORD)


def test_hostile_text_in_a_user_agent_is_shown_as_text(client):
    sign_up(client, email="hana@example.com")
    hostile = "<script>alert(1)</script><img src=x onerror=alert(2)>"
    client.post(
        "/api/v1/login",
        json={"login": "hana", "password": PASSWORD},
        headers={"User-Agent": hostile},
    )
    web_log_in(client, "hana", PASSWORD)  # a new device: an alert to list

    for path in (ALERTS, "/accounts/center/password-and-security/sessions"):
        page = client.get(path)
        assert page.status_code == 200
        assert "<script>alert(1)" not in page.text
        assert "<img src=x" not in page.text


def test_the_alerts_page_lists_each_alert_with_this_wasnt_me(client):
    sign_up(client, email="hana@example.com")
    web_log_in(client, "hana", PASSWORD)
    page = client.get("/accounts/center/password-and-security/password")
    client.post(
        "/accounts/center/password-and-security/password",
        data={
            "csrf_token": csrf_from(page),
            "current_password": PASSWORD,
            "new_password": "a brand new passphrase",
        },
    )

    alerts = client.get(ALERTS)

    assert alerts.status_code == 200
    assert "Your password was changed" in shown(alerts)
    assert alerts.text.count('href="/accounts/wasnt-me/') == 1
    japanese = shown(client.get(ALERTS, headers={"Accept-Language": "ja"}))
    assert "パスワードが変更されました" in japanese and "心当たりがない" in japanese
