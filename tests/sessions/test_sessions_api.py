"""GET /api/v1/me/sessions and DELETE /api/v1/me/sessions/{id}: where you're logged in."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.conftest import PASSWORD, bearer, sign_up
from tests.core.helpers import events, problem

IPHONE = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Version/17.4 Mobile Safari/604.1"
WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) Chrome/124.0.0.0 Safari/537.36"


def log_in_from(client, user_agent: str, login: str = "hana") -> str:
    response = client.post(
        "/api/v1/login",
        json={"login": login, "password": PASSWORD},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def sessions_of(client, token: str) -> list[dict[str, object]]:
    response = client.get("/api/v1/me/sessions", headers=bearer(token))
    assert response.status_code == 200, response.text
    listed: list[dict[str, object]] = response.json()["sessions"]
    return listed


@pytest.fixture
def two_users(client):
    sign_up(client, "hana")
    sign_up(client, "kenji")


def test_the_list_shows_each_device_and_which_one_is_this(client, two_users):
    phone = log_in_from(client, IPHONE)
    log_in_from(client, WINDOWS)

    listed = sessions_of(client, phone)

    assert len(listed) == 2
    for session in listed:
        assert set(session) == {
            "id",
            "current",
            "user_agent",
            "device",
            "ip",
            "created_at",
            "last_seen_at",
        }
        assert session["ip"] == "testclient"
        datetime.fromisoformat(str(session["created_at"]))
    by_device = {s["device"]: s for s in listed}
    assert by_device["Safari on iPhone"]["current"] is True
    assert by_device["Chrome on Windows"]["current"] is False
    assert by_device["Chrome on Windows"]["user_agent"] == WINDOWS


def test_a_user_sees_only_their_own_sessions(client, two_users):
    hana = log_in_from(client, IPHONE)
    log_in_from(client, WINDOWS, "kenji")

    assert [s["device"] for s in sessions_of(client, hana)] == ["Safari on iPhone"]


def test_ending_another_of_my_sessions_logs_that_device_out(client, ctx, two_users):
    phone, laptop = log_in_from(client, IPHONE), log_in_from(client, WINDOWS)
    laptop_id = next(s["id"] for s in sessions_of(client, phone) if not s["current"])

    response = client.delete(f"/api/v1/me/sessions/{laptop_id}", headers=bearer(phone))

    assert response.status_code == 204
    problem(client.get("/api/v1/me", headers=bearer(laptop)), 401, "not_authenticated")
    assert [s["current"] for s in sessions_of(client, phone)] == [True]
    [revoked] = events(ctx, "session.revoked")
    assert revoked.details["session"] == laptop_id


def test_ending_the_current_session_is_a_logout(client, two_users):
    phone = log_in_from(client, IPHONE)
    [mine] = sessions_of(client, phone)

    assert (
        client.delete(f"/api/v1/me/sessions/{mine['id']}", headers=bearer(phone)).status_code == 204
    )
    problem(client.get("/api/v1/me", headers=bearer(phone)), 401, "not_authenticated")


def test_someone_elses_session_id_is_not_found_and_stays_alive(client, ctx, two_users):
    """IDOR: knowing another account's session id gives no power over it."""
    hana = log_in_from(client, IPHONE)
    kenji = log_in_from(client, WINDOWS, "kenji")
    [kenjis] = sessions_of(client, kenji)

    response = client.delete(f"/api/v1/me/sessions/{kenjis['id']}", headers=bearer(hana))

    problem(response, 404, "session_not_found")
    assert client.get("/api/v1/me", headers=bearer(kenji)).json()["username"] == "kenji"
    assert events(ctx, "session.revoked") == []


def test_an_ended_or_unknown_session_id_is_404(client, two_users):
    phone, _laptop = log_in_from(client, IPHONE), log_in_from(client, WINDOWS)
    laptop_id = next(s["id"] for s in sessions_of(client, phone) if not s["current"])
    client.delete(f"/api/v1/me/sessions/{laptop_id}", headers=bearer(phone))

    for session_id in (laptop_id, "does-not-exist", "1", "%00", "a" * 64):
        response = client.delete(f"/api/v1/me/sessions/{session_id}", headers=bearer(phone))
        problem(response, 404, "session_not_found")
    problem(
        client.delete(f"/api/v1/me/sessions/{'a' * 65}", headers=bearer(phone)),
        422,
        "invalid_request",
    )


def test_session_ids_are_random_not_counting_up(client, two_users):
    tokens = [log_in_from(client, IPHONE) for _ in range(3)]

    ids = [s["id"] for s in sessions_of(client, tokens[0])]

    assert len(set(ids)) == 3
    assert not any(str(i).isdigit() for i in ids)
    assert all(len(str(i)) >= 16 for i in ids)


def test_sessions_need_a_token(client):
    problem(client.get("/api/v1/me/sessions"), 401, "not_authenticated")
    problem(client.delete("/api/v1/me/sessions/abc"), 401, "not_authenticated")
