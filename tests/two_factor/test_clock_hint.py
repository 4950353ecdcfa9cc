"""The "phone clock is off" answer reveals no code that could still become valid (issue 16,
finding 10). A code of a coming time step is answered exactly as a wrong code, and counted
as one; only a code of a step already gone (a phone clock behind) gets the clock hint."""

from __future__ import annotations

from mamori.core.clock import MovableClock
from tests.conftest import PASSWORD, bearer
from tests.core.helpers import csrf_from, events, problem, shown, web_log_in
from tests.two_factor.helpers import app_code, start_login, user_with_app
from tests.two_factor.test_pages import turn_on_app, web_sign_up


def failures(ctx) -> list[tuple[str, int]]:
    """What the audit log holds of second-factor failures: (reason, failures in a row)."""
    return [
        (e.details["reason"], e.details["consecutive_failures"])
        for e in events(ctx, "login.second_factor_failed")
    ]


def test_a_code_of_a_coming_step_is_a_wrong_code_and_counts_as_one(client, ctx, clock):
    _, secret, _ = user_with_app(client, clock)
    url = f"/api/v1/login/{start_login(client)['challenge']}/verify"

    ahead = client.post(url, json={"method": "totp", "code": app_code(secret, clock, steps=5)})
    wrong = client.post(url, json={"method": "totp", "code": "000000"})

    assert ahead.json() == wrong.json()
    problem(ahead, 400, "invalid_code")
    assert failures(ctx) == [("invalid_code", 1), ("invalid_code", 2)]


def test_a_code_of_a_step_gone_by_gets_the_clock_hint_and_counts_as_a_failure(client, ctx, clock):
    """A past step never comes back, so naming it gives nothing away."""
    _, secret, _ = user_with_app(client, clock)
    url = f"/api/v1/login/{start_login(client)['challenge']}/verify"

    behind = client.post(url, json={"method": "totp", "code": app_code(secret, clock, steps=-5)})

    problem(behind, 400, "clock_out_of_sync")
    assert failures(ctx) == [("clock_out_of_sync", 1)]


def test_confirm_its_you_gives_a_code_of_a_coming_step_no_hint_either(client, ctx, clock):
    token, secret, _ = user_with_app(client, clock)
    ahead = client.post(
        "/api/v1/me/reauthenticate",
        headers=bearer(token),
        json={"method": "totp", "code": app_code(secret, clock, steps=5)},
    )
    problem(ahead, 400, "invalid_code")
    failed = events(ctx, "reauthentication.failed")
    assert [e.details["reason"] for e in failed] == ["invalid_code"]


def test_the_challenge_page_says_the_code_is_wrong_and_how_to_check_the_clock(client, ctx):
    clock = ctx.clock
    assert isinstance(clock, MovableClock)
    web_sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    secret, _ = turn_on_app(client, clock)
    client.cookies.clear()
    clock.advance(seconds=30)
    web_log_in(client, "hana", PASSWORD)
    page = client.get("/login/two-factor")

    answer = client.post(
        "/login/two-factor",
        data={
            "csrf_token": csrf_from(page),
            "method": "totp",
            "code": app_code(secret, clock, steps=5),
        },
    )

    assert answer.status_code == 400
    assert "That code isn't valid" in shown(answer)
    assert "phone's clock" in shown(answer)
