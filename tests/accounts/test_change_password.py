"""POST /api/v1/me/password: 204, the other sessions end, the owner is told."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import clock_of, events, problem

NEW_PASSWORD = "a brand new passphrase 2026"


def change(client, token: str, current: str = PASSWORD, new: str = NEW_PASSWORD):
    return client.post(
        "/api/v1/me/password",
        json={"current_password": current, "new_password": new},
        headers=bearer(token),
    )


def test_changing_the_password_ends_every_other_session_and_keeps_this_one(client):
    sign_up(client, email="hana@example.com")
    phone, laptop, tablet = log_in(client), log_in(client), log_in(client)

    response = change(client, laptop)

    assert response.status_code == 204
    assert response.content == b""
    assert client.get("/api/v1/me", headers=bearer(laptop)).status_code == 200
    for old in (phone, tablet):
        problem(client.get("/api/v1/me", headers=bearer(old)), 401, "not_authenticated")
    listed = client.get("/api/v1/me/sessions", headers=bearer(laptop)).json()["sessions"]
    assert [s["current"] for s in listed] == [True]


def test_the_old_password_stops_working_and_the_new_one_works(client):
    sign_up(client)

    change(client, log_in(client))

    problem(
        client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD}),
        401,
        "invalid_credentials",
    )
    assert log_in(client, password=NEW_PASSWORD)


def test_the_owner_gets_an_alert_without_the_password(client):
    sign_up(client, email="hana@example.com")

    change(client, log_in(client))

    [alert] = client.get("/dev/outbox").json()
    assert alert["channel"] == "email"
    assert alert["to"] == "hana@example.com"
    assert alert["subject"] == "Your password was changed"
    assert "hana" in alert["body"]
    assert "http://localhost/accounts/wasnt-me/" in alert["body"]  # "This wasn't me"
    assert NEW_PASSWORD not in alert["body"]
    assert PASSWORD not in alert["body"]


def test_a_wrong_current_password_changes_nothing(client, ctx):
    sign_up(client, email="hana@example.com")
    token, other = log_in(client), log_in(client)

    problem(change(client, token, current="not my password"), 401, "invalid_credentials")

    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
    assert log_in(client, password=PASSWORD)
    assert client.get("/dev/outbox").json() == []
    [failed] = events(ctx, "password.change_failed")
    assert failed.outcome == "failure"
    assert events(ctx, "password.changed") == []


def test_a_weak_new_password_is_refused_and_nothing_changes(client):
    sign_up(client)
    token, other = log_in(client), log_in(client)

    problem(change(client, token, new="1qaz2wsx3edc4rfv"), 422, "password_too_common")
    problem(change(client, token, new="hanahanahana1234"), 422, "password_too_similar")
    problem(change(client, token, new="short"), 422, "password_too_short")

    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 200
    assert log_in(client, password=PASSWORD)


def test_guessing_the_current_password_with_a_stolen_session_is_throttled(client, ctx):
    """A session is not a licence to guess the password: 5 misses, then a growing wait."""
    sign_up(client)
    token = log_in(client)
    for _ in range(5):
        problem(change(client, token, current="guess"), 401, "invalid_credentials")

    blocked = change(client, token, current=PASSWORD)

    problem(blocked, 429, "too_many_attempts")
    assert blocked.headers["Retry-After"] == "1"
    clock_of(ctx).advance(seconds=1)
    assert change(client, token).status_code == 204


def test_changing_the_password_is_audited(client, ctx):
    sign_up(client)
    token, _other = log_in(client), log_in(client)

    change(client, token, new=NEW_PASSWORD)

    [changed] = events(ctx, "password.changed")
    [revoked] = events(ctx, "session.revoked_others")
    assert changed.user_id == revoked.user_id
    assert revoked.details["count"] == 1
    assert NEW_PASSWORD not in str(changed.details)


def test_changing_the_password_needs_a_session(client):
    sign_up(client)

    problem(
        client.post(
            "/api/v1/me/password", json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
        ),
        401,
        "not_authenticated",
    )
    assert log_in(client, password=PASSWORD)


def test_an_app_user_who_signed_up_in_japanese_is_alerted_in_japanese(client):
    response = client.post(
        "/api/v1/accounts",
        json={"username": "hana", "password": PASSWORD, "email": "hana@example.com"},
        headers={"Accept-Language": "ja-JP,ja;q=0.9"},
    )
    assert response.status_code == 201

    change(client, log_in(client))

    [alert] = client.get("/dev/outbox").json()
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", alert["subject"] + alert["body"])
