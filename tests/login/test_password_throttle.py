"""Login throttles, as an attacker and as an office full of people see them.

Every test runs with the counters in the database and in Redis (several instances
share them): the answers must be the same.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from mamori.context import Context
from mamori.core.throttle import DatabaseCounters
from tests.conftest import PASSWORD, log_in, redis_counters, sign_up
from tests.core.helpers import (
    app_client,
    clock_of,
    events,
    problem,
    web_log_in,
    with_counters,
    with_settings,
)

pytestmark = pytest.mark.both_databases

OFFICE = ("198.51.100.7", 40000)
WRONG = "wrong guess"
IP_LIMIT = 10  # failures per IP per window in these tests; the default is 100


@pytest.fixture(params=["database-counters", "redis-counters"])
def throttled(request: pytest.FixtureRequest, ctx: Context) -> Context:
    """The test context with its counters in the database or in Redis."""
    if request.param == "redis-counters":
        return with_counters(ctx, redis_counters(clock_of(ctx)))
    return with_counters(ctx, DatabaseCounters(ctx.clock))


@pytest.fixture
def office(throttled: Context) -> Iterator[TestClient]:
    """Everyone at one office shares one IP address."""
    with app_client(throttled, peer=OFFICE) as client:
        yield client


@pytest.fixture
def small_office(throttled: Context) -> Iterator[TestClient]:
    """The same, with a per-IP limit of 10 failures so the limit is quick to reach."""
    with app_client(with_settings(throttled, login_ip_failures=IP_LIMIT), peer=OFFICE) as client:
        yield client


def attempt(client: TestClient, login: str = "hana", password: str = WRONG, **kw):
    return client.post("/api/v1/login", json={"login": login, "password": password}, **kw)


def fail(client: TestClient, times: int, login: str = "hana") -> None:
    for _ in range(times):
        problem(attempt(client, login), 401, "invalid_credentials")


def test_after_five_failures_the_account_waits_and_the_wait_doubles(office, throttled):
    sign_up(office)
    clock = clock_of(throttled)
    fail(office, 5)

    waits = []
    for _ in range(4):
        blocked = attempt(office, password=PASSWORD)  # even the right password waits
        problem(blocked, 429, "too_many_attempts")
        waits.append(int(blocked.headers["Retry-After"]))
        assert blocked.json()["retry_after"] == waits[-1]
        clock.advance(seconds=waits[-1])
        fail(office, 1)

    assert waits == [1, 2, 4, 8]


def test_the_wait_never_exceeds_fifteen_minutes(office, throttled):
    sign_up(office)
    clock = clock_of(throttled)
    fail(office, 5)
    for _ in range(12):
        wait = int(attempt(office).headers["Retry-After"])
        assert wait <= 15 * 60
        clock.advance(seconds=wait)
        fail(office, 1)

    assert attempt(office).headers["Retry-After"] == str(15 * 60)


def test_once_the_wait_is_over_the_right_password_logs_in_and_resets_the_count(office, throttled):
    sign_up(office)
    fail(office, 5)
    clock_of(throttled).advance(seconds=1)

    assert log_in(office)
    fail(office, 5)  # five fresh tries: the success cleared this account's count


def test_the_wait_follows_the_login_whatever_its_notation(office, throttled):
    sign_up(office, "hana")
    sign_up(office, "kenji", phone="090-1234-5678")
    fail(office, 3, "hana")
    fail(office, 2, "ＨＡＮＡ")
    fail(office, 3, "090-1234-5678")
    fail(office, 2, "０９０１２３４５６７８")

    problem(attempt(office, "Hana", PASSWORD), 429, "too_many_attempts")
    problem(attempt(office, "+81 90 1234 5678", PASSWORD), 429, "too_many_attempts")


def test_one_account_waiting_does_not_hold_up_another(office, throttled):
    sign_up(office, "hana")
    sign_up(office, "kenji")
    fail(office, 5, "hana")

    assert log_in(office, "kenji")
    problem(attempt(office, "hana", PASSWORD), 429, "too_many_attempts")


def test_unknown_logins_are_throttled_exactly_like_known_ones(office, throttled):
    """Otherwise the sixth answer would tell who has an account."""
    sign_up(office, "hana")
    fail(office, 5, "hana")
    fail(office, 5, "nobody_here")

    known, unknown = attempt(office, "hana"), attempt(office, "nobody_here")

    assert known.status_code == unknown.status_code == 429
    assert known.content == unknown.content
    assert known.headers["Retry-After"] == unknown.headers["Retry-After"]


def test_fifty_good_logins_from_one_office_ip_all_work(small_office, throttled):
    """Per-IP limits count failures only (here 10), so a busy office is never blocked."""
    sign_up(small_office, "hana")

    tokens = {log_in(small_office) for _ in range(50)}

    assert len(tokens) == 50


def test_failures_from_one_ip_hit_its_limit_across_accounts(small_office, throttled):
    sign_up(small_office, "hana")
    for number in range(IP_LIMIT):  # all different accounts: no account limit is reached
        fail(small_office, 1, f"someone{number}")

    problem(attempt(small_office, "hana", PASSWORD), 429, "too_many_attempts")
    clock_of(throttled).advance(seconds=1)
    assert log_in(small_office)


def test_a_success_does_not_clear_the_ip_counter(small_office, throttled):
    sign_up(small_office, "hana")
    for number in range(IP_LIMIT - 1):
        fail(small_office, 1, f"someone{number}")
    assert log_in(small_office)
    fail(small_office, 1, "someone_else")  # the failure that reaches the IP's limit

    problem(attempt(small_office, "hana", PASSWORD), 429, "too_many_attempts")


def test_another_ip_is_not_held_up_by_the_office(throttled, small_office):
    sign_up(small_office, "hana")
    for number in range(IP_LIMIT):
        fail(small_office, 1, f"someone{number}")

    same_limit = with_settings(throttled, login_ip_failures=IP_LIMIT)
    with app_client(same_limit, peer=("203.0.113.50", 1234)) as home:
        assert log_in(home)


def test_a_raw_x_forwarded_for_is_ignored_without_trusted_proxies(small_office, throttled):
    """Rotating the header must not buy an attacker a fresh IP counter."""
    sign_up(small_office, "hana")
    for number in range(IP_LIMIT):
        response = attempt(
            small_office, f"someone{number}", headers={"X-Forwarded-For": f"10.9.0.{number}"}
        )
        problem(response, 401, "invalid_credentials")

    blocked = attempt(small_office, "hana", PASSWORD, headers={"X-Forwarded-For": "10.9.9.9"})

    problem(blocked, 429, "too_many_attempts")
    assert {e.ip for e in events(throttled, "login.password_failed")} == {OFFICE[0]}


def test_behind_a_trusted_proxy_the_client_ip_comes_from_x_forwarded_for(throttled):
    behind_proxy = with_settings(
        throttled, trusted_proxies=["10.0.0.0/8"], login_ip_failures=IP_LIMIT
    )
    with app_client(behind_proxy, peer=("10.0.0.2", 443)) as proxy:
        sign_up(proxy, "hana")
        for number in range(IP_LIMIT):
            forwarded = {"X-Forwarded-For": "192.0.2.66, 10.0.0.3"}
            problem(
                attempt(proxy, f"someone{number}", headers=forwarded), 401, "invalid_credentials"
            )

        blocked = attempt(proxy, "hana", PASSWORD, headers={"X-Forwarded-For": "192.0.2.66"})
        other_client = proxy.post(
            "/api/v1/login",
            json={"login": "hana", "password": PASSWORD},
            headers={"X-Forwarded-For": "192.0.2.77"},
        )

    problem(blocked, 429, "too_many_attempts")
    assert other_client.status_code == 200
    assert {e.ip for e in events(behind_proxy, "login.password_failed")} == {"192.0.2.66"}
    [success] = events(behind_proxy, "login.succeeded")
    assert success.ip == "192.0.2.77"


def test_x_forwarded_for_from_a_peer_outside_the_trusted_proxies_is_ignored(throttled):
    behind_proxy = with_settings(throttled, trusted_proxies=["10.0.0.0/8"])
    with app_client(behind_proxy, peer=OFFICE) as client:
        sign_up(client, "hana")
        log_in_response = attempt(client, "hana", PASSWORD, headers={"X-Forwarded-For": "10.0.0.9"})

    assert log_in_response.status_code == 200
    [success] = events(behind_proxy, "login.succeeded")
    assert success.ip == OFFICE[0]


def test_the_login_page_shows_the_wait_in_words(throttled):
    with app_client(throttled, peer=OFFICE) as browser:
        sign_up(browser, "hana")
        fail(browser, 5)
        page = browser.get("/login")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        blocked = browser.post(
            "/login", data={"login": "hana", "password": PASSWORD, "csrf_token": token}
        )

    assert blocked.status_code == 429
    assert "Too many attempts; try again later" in blocked.text
    assert "Try again in 1 min." in blocked.text


def test_the_wait_does_not_reveal_whether_a_phone_number_is_registered(office, throttled):
    sign_up(office, "hana", phone="090-1234-5678")
    fail(office, 5, "090-1234-5678")
    fail(office, 5, "080-9999-0000")  # registered to no one

    registered = attempt(office, "+81 90 1234 5678")
    unregistered = attempt(office, "+81 80 9999 0000")

    assert registered.status_code == unregistered.status_code


def test_the_wait_does_not_reveal_which_e_mail_belongs_to_a_username(office, throttled):
    sign_up(office, "hana", email="hana@example.com")
    sign_up(office, "kenji")
    fail(office, 5, "hana")
    fail(office, 5, "kenji")

    own_address = attempt(office, "hana@example.com")
    someone_elses = attempt(office, "kenji@example.com")

    assert own_address.status_code == someone_elses.status_code


HOME = ("203.0.113.20", 5000)
HELD = "Someone is trying to log in to your account"


def test_the_owner_s_app_is_not_held_by_failures_from_elsewhere(throttled):
    """An API client is trusted by the IP it completed a login from: before, 5 wrong
    passwords by username from anywhere made the owner's own app wait too (429)."""
    with app_client(throttled, peer=HOME) as home, app_client(throttled, peer=OFFICE) as attacker:
        sign_up(home, email="hana@example.com")
        assert log_in(home)
        fail(attacker, 5)
        problem(attempt(attacker, password=PASSWORD), 429, "too_many_attempts")

        assert log_in(home)
        held = [m for m in home.get("/dev/outbox").json() if m["subject"] == HELD]
    assert len(held) == 1 and held[0]["to"] == "hana@example.com"
    assert len(events(throttled, "login.throttled")) == 1


def test_the_owner_s_browser_logs_in_while_another_on_the_same_ip_is_held(throttled):
    """A browser is trusted by its device cookie, not its IP: here both share one."""
    with app_client(throttled, peer=OFFICE) as owner, app_client(throttled, peer=OFFICE) as other:
        sign_up(owner)
        assert web_log_in(owner, "hana", PASSWORD).status_code == 303
        for _ in range(5):
            assert web_log_in(other, "hana", WRONG).status_code == 401
        assert web_log_in(other, "hana", PASSWORD).status_code == 429

        assert web_log_in(owner, "hana", PASSWORD).status_code == 303


def test_the_owner_is_told_once_per_window_however_long_the_attack(office, throttled):
    sign_up(office, email="hana@example.com")
    clock = clock_of(throttled)
    fail(office, 5)
    for _ in range(4):
        clock.advance(seconds=int(attempt(office).headers["Retry-After"]))
        fail(office, 1)

    held = [m for m in office.get("/dev/outbox").json() if m["subject"] == HELD]
    assert len(held) == 1
