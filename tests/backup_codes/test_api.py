"""GET / POST /api/v1/me/backup-codes: shape, reauthentication, no-store, IDOR."""

from __future__ import annotations

import re

import pytest

from tests.backup_codes.helpers import in_mode, make_codes, spend, subjects
from tests.conftest import PASSWORD, bearer, log_in, sign_up

URL = "/api/v1/me/backup-codes"


def user_with_codes(client, ctx, username: str = "hana") -> tuple[str, list[str]]:
    account = sign_up(client, username, email=f"{username}@example.com")
    return log_in(client, username), make_codes(ctx, account["id"])


def test_view_again_lists_codes_used_ones_with_when(client, ctx, clock):
    token, codes = user_with_codes(client, ctx)
    spend(ctx, 1, codes[2])
    response = client.get(URL, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {"codes", "remaining", "created_at"}
    assert [c["code"] for c in body["codes"]] == codes
    assert body["codes"][2]["used_at"].startswith(clock.now().date().isoformat())
    assert [c["used_at"] is None for c in body["codes"]].count(True) == 9
    assert body["remaining"] == 9
    assert "Your backup codes were viewed" in subjects(ctx, "hana@example.com")


def test_view_and_new_codes_need_a_recent_reauthentication(client, ctx, clock):
    token, _ = user_with_codes(client, ctx)
    clock.advance(minutes=11)
    for method in ("get", "post"):
        refused = client.request(method, URL, headers=bearer(token))
        assert refused.status_code == 403
        assert refused.json()["code"] == "reauthentication_required"
        assert "codes" not in refused.json()
    reauthenticated = client.post(
        "/api/v1/me/reauthenticate", headers=bearer(token), json={"password": PASSWORD}
    )
    assert reauthenticated.status_code == 204
    assert client.get(URL, headers=bearer(token)).status_code == 200


def test_post_gives_a_new_set_and_the_old_one_stops_working(client, ctx):
    token, old = user_with_codes(client, ctx)
    response = client.post(URL, headers=bearer(token))
    assert response.status_code == 201, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    new = [c["code"] for c in body["codes"]]
    assert len(new) == 10 and all(re.fullmatch(r"\d{4} \d{4}", c) for c in new)
    assert all(c["used_at"] is None for c in body["codes"])
    assert body["remaining"] == 10 and body["created_at"]
    assert new != old
    assert [c["code"] for c in client.get(URL, headers=bearer(token)).json()["codes"]] == new
    assert "You got new backup codes" in subjects(ctx, "hana@example.com")


def test_hash_only_answers_never_show_a_code_after_creation(client, ctx):
    client.app.state.ctx = in_mode(ctx, "hash_only")
    token, _ = user_with_codes(client, client.app.state.ctx)
    viewed = client.get(URL, headers=bearer(token)).json()
    assert [c["code"] for c in viewed["codes"]] == [None] * 10
    assert viewed["remaining"] == 10
    fresh = client.post(URL, headers=bearer(token)).json()
    assert all(re.fullmatch(r"\d{4} \d{4}", c["code"]) for c in fresh["codes"])
    again = client.get(URL, headers=bearer(token)).json()
    assert [c["code"] for c in again["codes"]] == [None] * 10


def test_a_user_without_codes_is_told_so(client):
    sign_up(client, "hana")
    token = log_in(client, "hana")
    for method in ("get", "post"):
        response = client.request(method, URL, headers=bearer(token))
        assert response.status_code == 404
        assert response.json()["code"] == "no_backup_codes"


def test_another_account_never_sees_or_replaces_your_codes(client, ctx):
    hana_token, hanas = user_with_codes(client, ctx, "hana")
    ken_token, kens = user_with_codes(client, ctx, "ken")
    seen_by_ken = client.get(URL, headers=bearer(ken_token)).text
    assert all(code not in seen_by_ken for code in hanas)
    assert [c["code"] for c in client.get(URL, headers=bearer(ken_token)).json()["codes"]] == kens
    client.post(URL, headers=bearer(ken_token))
    still = client.get(URL, headers=bearer(hana_token)).json()
    assert [c["code"] for c in still["codes"]] == hanas


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer " + "x" * 5000},
        {"Authorization": "Basic aGFuYTpwdw=="},
    ],
)
def test_without_a_valid_session_nothing_is_shown(client, ctx, headers):
    user_with_codes(client, ctx)
    for method in ("get", "post"):
        response = client.request(method, URL, headers=headers)
        assert response.status_code == 401
        assert response.json()["code"] == "not_authenticated"


def test_hostile_requests_get_a_clear_4xx(client, ctx):
    token, _ = user_with_codes(client, ctx)
    assert client.put(URL, headers=bearer(token)).status_code == 405
    assert client.delete(URL, headers=bearer(token)).status_code == 405
    too_big = client.post(URL, headers=bearer(token), content=b"{" * 100_000)
    assert too_big.status_code == 413
    odd_body = client.post(URL, headers=bearer(token), content=b"\x00\xff", params={"a": "\x00"})
    assert odd_body.status_code == 201
