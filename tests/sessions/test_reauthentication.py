"""POST /api/v1/me/reauthenticate and the 10-minute window sensitive changes rely on."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mamori.core.errors import ReauthenticationRequired
from mamori.core.throttle import DatabaseCounters
from mamori.sessions.models import LoginSession
from mamori.sessions.service import require_recent_reauthentication
from tests.conftest import PASSWORD, bearer, log_in, redis_counters, sign_up
from tests.core.helpers import app_client, clock_of, events, problem, with_counters

pytestmark = pytest.mark.both_databases


def reauthenticate(client, token: str, password: str = PASSWORD):
    return client.post(
        "/api/v1/me/reauthenticate", json={"password": password}, headers=bearer(token)
    )


def check_window(ctx, token_owner_session: str) -> None:
    """What a sensitive route does first (viewing backup codes, turning 2FA off …)."""
    with ctx.database.session() as db:
        session = db.scalar(
            select(LoginSession).where(LoginSession.public_id == token_owner_session)
        )
        assert session is not None
        require_recent_reauthentication(ctx.clock, ctx.settings, session)


def session_id(client, token: str) -> str:
    listed = client.get("/api/v1/me/sessions", headers=bearer(token)).json()["sessions"]
    return str(next(s["id"] for s in listed if s["current"]))


def test_a_fresh_login_counts_as_a_reauthentication_for_ten_minutes(client, ctx):
    sign_up(client)
    token = log_in(client)
    mine = session_id(client, token)

    clock_of(ctx).advance(minutes=9)
    check_window(ctx, mine)
    clock_of(ctx).advance(minutes=2)

    with pytest.raises(ReauthenticationRequired):
        check_window(ctx, mine)


def test_reauthenticating_answers_204_and_opens_a_new_window(client, ctx):
    sign_up(client)
    token = log_in(client)
    mine = session_id(client, token)
    clock_of(ctx).advance(minutes=11)

    response = reauthenticate(client, token)

    assert response.status_code == 204
    assert response.content == b""
    check_window(ctx, mine)
    clock_of(ctx).advance(minutes=11)
    with pytest.raises(ReauthenticationRequired):
        check_window(ctx, mine)
    [event] = events(ctx, "reauthentication.succeeded")
    assert event.details["factor"] == "password"


def test_a_wrong_password_is_401_and_opens_nothing(client, ctx):
    sign_up(client)
    token = log_in(client)
    mine = session_id(client, token)
    clock_of(ctx).advance(minutes=11)

    problem(reauthenticate(client, token, "not my password"), 401, "invalid_credentials")

    with pytest.raises(ReauthenticationRequired):
        check_window(ctx, mine)
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200  # still logged in
    [failed] = events(ctx, "reauthentication.failed")
    assert failed.outcome == "failure"


def test_the_window_belongs_to_one_session_only(client, ctx):
    sign_up(client)
    phone, laptop = log_in(client), log_in(client)
    laptop_session = session_id(client, laptop)
    clock_of(ctx).advance(minutes=11)

    reauthenticate(client, phone)

    with pytest.raises(ReauthenticationRequired):
        check_window(ctx, laptop_session)


@pytest.mark.parametrize("counters", ["database", "redis"])
def test_guessing_by_reauthentication_is_throttled(ctx, counters):
    clock = clock_of(ctx)
    store = redis_counters(clock) if counters == "redis" else DatabaseCounters(clock)
    with app_client(with_counters(ctx, store)) as client:
        sign_up(client)
        token = log_in(client)
        for _ in range(5):
            problem(reauthenticate(client, token, "guess"), 401, "invalid_credentials")

        blocked = reauthenticate(client, token)
        problem(blocked, 429, "too_many_attempts")
        assert blocked.headers["Retry-After"] == "1"
        clock.advance(seconds=1)
        assert reauthenticate(client, token).status_code == 204


def test_reauthentication_needs_a_session(client):
    problem(
        client.post("/api/v1/me/reauthenticate", json={"password": PASSWORD}),
        401,
        "not_authenticated",
    )
