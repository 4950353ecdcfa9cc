"""A bounded brute-force run against one account's second factor, over the API.

The attacker has the password (the case two-factor exists for) and guesses authenticator
codes and backup codes, waiting exactly as long as each Retry-After says, for as long as
mamori lets them. What DESIGN.md specifies: failures count per account across methods,
five are free, then a doubling wait (at most 15 minutes), and after 100 in a row the
second-factor step locks until recovery. The owner is told, and keeps a way back in.

The clock is moved rather than waited on: the whole run covers about a day of an
attacker's time in a few seconds.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pyotp

from tests.conftest import PASSWORD, bearer, fresh_database, log_in, postgres_url
from tests.core.helpers import app_client, events
from tests.e2e.conftest import running_server
from tests.recovery.helpers import (
    NEW_PASSWORD,
    can_log_in,
    complete,
    confirm_addresses,
    prove,
    prove_by_email,
    start,
)
from tests.two_factor.helpers import app_code, outbox_subjects, start_login, user_with_app

EMAIL = "hana@example.com"
HOME = ("203.0.113.20", 5000)
ELSEWHERE = ("198.51.100.66", 5000)
MAX_REQUESTS = 1000  # the run is bounded even if mamori never stopped the attacker


def wrong_guess(number: int, method: str, secret: str, clock: Any, backup: list[str]) -> str:
    """The attacker's next guess, never one that happens to be right (a real attacker
    hits with probability about 3 in 10^6 per TOTP guess; this run is about the throttle)."""
    if method == "totp":
        live = {app_code(secret, clock, steps) for steps in (-1, 0, 1)}
        guess = f"{(number * 7919) % 10**6:06d}"
        return guess if guess not in live else f"{(int(guess) + 1) % 10**6:06d}"
    guess = f"{(number * 104729) % 10**8:08d}"
    return guess if guess not in {c.replace(" ", "") for c in backup} else "00000000"


def attack(client, clock, secret: str, backup: list[str]) -> dict[str, Any]:
    """Guess until mamori locks the second factor; returns what the attacker saw."""
    seen: dict[str, Any] = {"guesses": 0, "waits": [], "logins": 0, "seconds": 0.0}
    challenge = None
    for number in range(MAX_REQUESTS):
        if challenge is None:
            challenge = start_login(client)["challenge"]
            seen["logins"] += 1
        method = "totp" if number % 2 else "backup_code"
        answer = client.post(
            f"/api/v1/login/{challenge}/verify",
            json={"method": method, "code": wrong_guess(number, method, secret, clock, backup)},
        )
        code = answer.json()["code"]
        if answer.status_code == 400:
            assert code == "invalid_code"
            seen["guesses"] += 1
        elif answer.status_code == 429:
            assert code == "too_many_attempts"
            wait = int(answer.headers["Retry-After"])
            seen["waits"].append(wait)
            clock.advance(seconds=wait)
            seen["seconds"] += wait
        elif answer.status_code == 410:
            assert code == "challenge_expired"
            challenge = None
        else:
            assert (answer.status_code, code) == (423, "second_factor_locked"), answer.text
            seen["locked_after_requests"] = number + 1
            return seen
    raise AssertionError(f"{MAX_REQUESTS} requests and the attacker was never stopped: {seen}")


# About 90 password logins, each an argon2id hash: run once, on SQLite (no both_databases).
# The counters it drives are the same code on PostgreSQL, where the shorter tests below run.
def test_an_attacker_with_the_password_gets_100_guesses_then_the_owner_recovers(client, ctx, clock):
    _, secret, backup = user_with_app(client, clock)
    confirm_addresses(ctx, "hana")

    seen = attack(client, clock, secret, backup)
    print(
        f"brute force: {seen['guesses']} guesses evaluated, {len(seen['waits'])} waits, "
        f"{seen['logins']} password logins, {seen['seconds'] / 3600:.1f} h of waiting, "
        f"{outbox_subjects(client, EMAIL).count('Someone entered your password')} alerts"
    )

    # Throttled as specified: 5 free guesses, then waits that double up to 15 minutes,
    # and the lock at 100 failures in a row, whichever method was guessed.
    assert seen["guesses"] == 100
    assert seen["waits"][:10] == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]
    assert max(seen["waits"]) == 900
    assert seen["waits"] == sorted(seen["waits"])
    assert seen["seconds"] > 20 * 3600  # 100 guesses cost the attacker about a day
    failures = events(ctx, "login.second_factor_failed")
    assert len(failures) == 100
    assert [e.details["consecutive_failures"] for e in failures] == list(range(1, 101))
    assert {e.details["method"] for e in failures} == {"totp", "backup_code"}

    # The owner was told, in their e-mail: at each login that got the password right but
    # not the code, and once when it locked, with the way back in.
    subjects = outbox_subjects(client, EMAIL)
    assert subjects.count("Someone entered your password") == seen["logins"]
    assert subjects.count("Two-factor login is locked") == 1
    [locked] = events(ctx, "two_factor.locked")
    assert locked.user_id == failures[0].user_id

    # Locked for everyone, the owner's right code included: that is the spec (until
    # recovery), and it needs the password, so no one without it can lock an account.
    clock.advance(hours=1)
    challenge = start_login(client)["challenge"]
    right = client.post(
        f"/api/v1/login/{challenge}/verify",
        json={"method": "totp", "code": app_code(secret, clock)},
    )
    assert right.status_code == 423
    assert right.json()["code"] == "second_factor_locked"

    # "Can't log in?" keeps working: a code to the e-mail and the password. Two-factor
    # was locked, so the recovery removes it after the holding period, and the owner is
    # back in with the new password.
    recovery = start(client, "hana")["recovery"]
    prove_by_email(client, recovery, EMAIL)
    assert prove(client, recovery, "password", password=PASSWORD).status_code == 200
    held = complete(client, recovery)
    assert held.status_code == 200, held.text
    assert held.json()["state"] == "holding"
    clock.advance(hours=73)
    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"


def test_the_lock_alert_is_in_the_owner_s_language(client, ctx, clock):
    from mamori.accounts.service import find_by_username
    from mamori.two_factor.service import record_second_factor_failure

    signed_up = client.post(
        "/api/v1/accounts",
        json={"username": "hana", "password": PASSWORD, "email": EMAIL},
        headers={"Accept-Language": "ja"},
    )
    assert signed_up.status_code == 201
    headers = bearer(log_in(client, "hana"))
    secret = client.post("/api/v1/me/two-factor/totp", headers=headers).json()["secret"]
    confirmed = client.post(
        "/api/v1/me/two-factor/totp/confirm",
        headers=headers,
        json={"code": app_code(secret, clock)},
    )
    assert confirmed.status_code == 200
    with ctx.database.session() as db:
        user = find_by_username(db, "hana")
        assert user is not None
        for _ in range(99):  # as after 99 wrong codes (the run above goes through them)
            record_second_factor_failure(db, ctx, user.id)
    clock.advance(hours=1)
    with app_client(ctx, peer=ELSEWHERE) as elsewhere:  # not hana's own device
        challenge = start_login(elsewhere)["challenge"]
        guess = wrong_guess(0, "totp", secret, clock, [])
        elsewhere.post(f"/api/v1/login/{challenge}/verify", json={"method": "totp", "code": guess})

    [alert] = [m for m in client.get("/dev/outbox").json() if "ロック" in m["subject"]]
    assert alert["to"] == EMAIL
    assert alert["subject"] == "二段階認証でのログインがロックされました"
    assert "hana" in alert["body"]
    assert "100回" in alert["body"]
    assert "ログインできない場合" in alert["body"]


def test_before_the_lock_the_owner_gets_in_after_the_wait_and_the_count_starts_over(
    client, ctx, clock
):
    _, secret, _ = user_with_app(client, clock)
    challenge = start_login(client)["challenge"]
    url = f"/api/v1/login/{challenge}/verify"
    for number in range(6):
        client.post(
            url, json={"method": "totp", "code": wrong_guess(number, "totp", secret, clock, [])}
        )
    owner = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})
    assert owner.status_code == 429  # the wait holds for everyone, for a few seconds

    clock.advance(seconds=int(owner.headers["Retry-After"]))
    owner = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})

    assert owner.status_code == 200, owner.text
    clock.advance(seconds=30)
    challenge = start_login(client)["challenge"]
    guess = wrong_guess(1, "totp", secret, clock, [])
    answers = [
        client.post(f"/api/v1/login/{challenge}/verify", json={"method": "totp", "code": guess})
        for _ in range(5)
    ]
    assert [a.status_code for a in answers] == [400] * 5  # five free guesses again


def test_without_the_password_nobody_can_touch_the_owner_s_second_factor(client, ctx, clock):
    _, secret, _ = user_with_app(client, clock)
    for number in range(150):
        answer = client.post(
            f"/api/v1/login/{pyotp.random_base32()}/verify",
            json={"method": "totp", "code": f"{number:06d}"},
        )
        assert answer.status_code == 410
    wrong_passwords = [
        client.post("/api/v1/login", json={"login": "hana", "password": f"guess {n}"})
        for n in range(6)
    ]
    assert [a.status_code for a in wrong_passwords] == [401] * 5 + [429]

    clock.advance(minutes=1)
    challenge = start_login(client)["challenge"]
    owner = client.post(
        f"/api/v1/login/{challenge}/verify",
        json={"method": "totp", "code": app_code(secret, clock)},
    )
    assert owner.status_code == 200, owner.text
    assert events(ctx, "login.second_factor_failed") == []


def burst_of_guesses(url: str, username: str) -> tuple[list[int], float, list[str]]:
    """Turn on an app for a new account, then send 40 wrong codes from 20 connections at
    once. Returns the statuses, the burst's seconds and the subjects of the messages to the
    account's e-mail."""
    email = f"{username}@example.com"
    connections = [httpx.Client(base_url=url, timeout=30) for _ in range(20)]
    owner = connections[0]
    try:
        signed_up = owner.post(
            "/api/v1/accounts", json={"username": username, "password": PASSWORD, "email": email}
        )
        assert signed_up.status_code == 201, signed_up.text
        token = owner.post("/api/v1/login", json={"login": username, "password": PASSWORD})
        headers = {"Authorization": f"Bearer {token.json()['token']}"}
        secret = owner.post("/api/v1/me/two-factor/totp", headers=headers).json()["secret"]
        app = pyotp.TOTP(secret)
        confirmed = owner.post(
            "/api/v1/me/two-factor/totp/confirm", headers=headers, json={"code": app.now()}
        )
        assert confirmed.status_code == 200, confirmed.text
        login = owner.post("/api/v1/login", json={"login": username, "password": PASSWORD})
        verify = f"/api/v1/login/{login.json()['challenge']}/verify"
        live = {app.at(time.time() + 30 * steps) for steps in (-1, 0, 1, 2)}
        guesses = [g for g in (f"{n:06d}" for n in range(314159, 314209)) if g not in live]

        def guess(number: int) -> int:
            connection = connections[number % len(connections)]
            answer = connection.post(verify, json={"method": "totp", "code": guesses[number]})
            return answer.status_code

        started = time.monotonic()
        with ThreadPoolExecutor(len(connections)) as pool:
            statuses = list(pool.map(guess, range(40)))
        seconds = time.monotonic() - started
        outbox = owner.get("/dev/outbox").json()
        return statuses, seconds, [m["subject"] for m in outbox if m["to"] == email]
    finally:
        for connection in connections:
            connection.close()


def only_the_free_five(statuses: list[int], seconds: float) -> bool:
    """Five evaluated (400), the rest refused (429). After the five the wait is 1 s, then
    2, 4 …: a burst that lasts longer than those waits rightly gets one try as each ends
    (log2 of its length, one on a loaded machine), never more."""
    tried = statuses.count(400)
    return statuses.count(429) == 40 - tried and 5 <= tried <= 5 + int(math.log2(seconds + 1))


def test_a_burst_of_guesses_sent_at_once_gets_only_the_five_free_ones(api: httpx.Client):
    """Against a real server (SQLite): 40 wrong codes from 20 connections at once."""
    statuses, seconds, subjects = burst_of_guesses(str(api.base_url), "kenji")

    assert only_the_free_five(statuses, seconds), (sorted(statuses), seconds)
    assert "Someone entered your password" in subjects


def test_a_burst_on_postgresql_gets_only_the_five_free_ones_too(request, tmp_path):
    """Before attempts on one account were taken one at a time, PostgreSQL let 16 of the
    40 be tried (and with the counters in Redis, 6)."""
    fresh_database("postgresql", request).engine.dispose()  # emptied for this test
    url = postgres_url(request.getfixturevalue("postgres_schema"))
    with running_server(tmp_path, DATABASE_URL=url) as server:
        statuses, seconds, subjects = burst_of_guesses(server.url, "hana")

    assert only_the_free_five(statuses, seconds), (sorted(statuses), seconds)
    assert "Someone entered your password" in subjects


def guess_codes(client, clock, secret: str, count: int) -> str:
    """Wrong app codes until `count` were evaluated, waiting each Retry-After; returns
    "guessed", or "locked" if mamori locked the second factor first."""
    challenge, evaluated = start_login(client)["challenge"], 0
    for number in range(MAX_REQUESTS):
        if evaluated == count:
            return "guessed"
        guess = wrong_guess(number, "totp", secret, clock, [])
        answer = client.post(
            f"/api/v1/login/{challenge}/verify", json={"method": "totp", "code": guess}
        )
        if answer.status_code == 400:
            evaluated += 1
        elif answer.status_code == 429:
            clock.advance(seconds=int(answer.headers["Retry-After"]))
        elif answer.status_code == 410:
            challenge = start_login(client)["challenge"]
        else:
            assert answer.status_code == 423, answer.text
            return "locked"
    raise AssertionError("mamori never stopped the guesses")


def test_the_owner_s_logins_never_give_an_attacker_a_fresh_hundred(ctx, clock):
    """The attacker has the password and guesses codes from elsewhere; the owner logs in
    from home between rounds. Before, each of the owner's logins cleared the count, so
    the attacker was never locked (here: 100 wrong codes, then the 101st still evaluated).
    Now the attacker's failures are counted apart: locked at 100 in all, while the owner's
    own device keeps logging in."""
    with app_client(ctx, peer=HOME) as owner, app_client(ctx, peer=ELSEWHERE) as attacker:
        _, secret, _ = user_with_app(owner, clock)
        for _ in range(2):
            assert guess_codes(attacker, clock, secret, 50) == "guessed"
            clock.advance(minutes=15)  # the longest wait, so the owner is not held by it
            challenge = start_login(owner)["challenge"]
            right = {"method": "totp", "code": app_code(secret, clock)}
            assert owner.post(f"/api/v1/login/{challenge}/verify", json=right).status_code == 200
            clock.advance(seconds=30)  # a new time step: the owner's code is spent

        assert guess_codes(attacker, clock, secret, 1) == "locked"
        challenge = start_login(owner)["challenge"]
        right = {"method": "totp", "code": app_code(secret, clock)}
        assert owner.post(f"/api/v1/login/{challenge}/verify", json=right).status_code == 200
