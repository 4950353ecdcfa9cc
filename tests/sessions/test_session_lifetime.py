"""How long a login lasts: idle and absolute limits, and an operator disabling an account."""

from __future__ import annotations

from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import clock_of, events, problem, run_cli, web_log_in


def alive(client, token: str) -> bool:
    response = client.get("/api/v1/me", headers=bearer(token))
    if response.status_code == 401:
        problem(response, 401, "not_authenticated")
        return False
    assert response.status_code == 200, response.text
    return True


def test_a_session_left_alone_longer_than_the_idle_limit_is_over(client, ctx):
    sign_up(client)
    token = log_in(client)
    idle = ctx.settings.session_idle_minutes

    clock_of(ctx).advance(minutes=idle - 1)
    assert alive(client, token)
    clock_of(ctx).advance(minutes=idle + 1)

    assert not alive(client, token)


def test_using_a_session_keeps_it_alive_until_the_absolute_limit(client, ctx):
    sign_up(client)
    token = log_in(client)
    clock = clock_of(ctx)
    step = ctx.settings.session_idle_minutes - 60
    used = 0
    while used + step < ctx.settings.session_absolute_minutes:
        clock.advance(minutes=step)
        used += step
        assert alive(client, token), f"ended after {used} minutes of regular use"

    clock.advance(minutes=ctx.settings.session_absolute_minutes - used)

    assert not alive(client, token)


def test_an_expired_session_is_no_longer_listed(client, ctx):
    sign_up(client)
    old = log_in(client)
    clock_of(ctx).advance(minutes=ctx.settings.session_idle_minutes + 1)
    new = log_in(client)

    listed = client.get("/api/v1/me/sessions", headers=bearer(new)).json()["sessions"]

    assert [s["current"] for s in listed] == [True]
    assert not alive(client, old)


def test_a_web_session_expires_too(client, ctx):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    assert client.get("/accounts/center", follow_redirects=False).status_code == 200

    clock_of(ctx).advance(minutes=ctx.settings.session_idle_minutes + 1)

    page = client.get("/accounts/center", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"].startswith("/login")


def test_a_disabled_account_cannot_log_in_and_its_sessions_die(client, ctx):
    sign_up(client)
    sign_up(client, "kenji")
    phone, laptop, kenji = log_in(client), log_in(client), log_in(client, "kenji")

    result = run_cli(ctx, "users", "disable", "hana")

    assert result.exit_code == 0, result.output
    assert "hana disabled" in result.output
    assert not alive(client, phone)
    assert not alive(client, laptop)
    assert alive(client, kenji)
    refused = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
    unknown = client.post("/api/v1/login", json={"login": "nobody", "password": PASSWORD})
    problem(refused, 401, "invalid_credentials")
    assert refused.content == unknown.content  # disabled looks like any failure
    reasons = [e.details["reason"] for e in events(ctx, "login.password_failed")]
    assert reasons == ["disabled", "unknown_account"]
    assert len(events(ctx, "account.disabled")) == 1


def test_an_enabled_account_logs_in_again(client, ctx):
    sign_up(client)
    run_cli(ctx, "users", "disable", "hana")

    result = run_cli(ctx, "users", "enable", "hana")

    assert result.exit_code == 0, result.output
    assert alive(client, log_in(client))
