""" "Can't log in?" over the API, on SQLite and PostgreSQL: each path, and the attacks."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mamori.notifications.models import OutboxMessage
from mamori.recovery.models import RecoveryAttempt
from tests.conftest import PASSWORD, bearer, log_in
from tests.core.helpers import (
    clock_of,
    count,
    events,
    problem,
    statements_run,
    with_settings,
)
from tests.recovery.helpers import (
    NEW_PASSWORD,
    account,
    can_log_in,
    complete,
    confirm_addresses,
    last_code_sent_to,
    prove,
    prove_by_email,
    send,
    session_works,
    start,
)
from tests.two_factor.helpers import app_code, user_with_app


def outbox(client, to: str | None = None) -> list[dict[str, str]]:
    messages = client.get("/dev/outbox").json()
    return [m for m in messages if to is None or m["to"] == to]


def recovery_codes(client, to: str) -> list[dict[str, str]]:
    return [m for m in outbox(client, to) if "to get back into your account" in m["body"]]


# --- an account without two-factor ------------------------------------------------------


def test_without_two_factor_the_emailed_code_is_enough_and_applies_at_once(client, ctx):
    account(client, ctx)
    old_session = log_in(client, "hana")

    started = start(client, "hana")
    assert [o["destination"] for o in started["options"]] == ["h•••a@e•••.com"]
    assert started["two_factor"] is None  # nothing about the account before a proof
    status = prove_by_email(client, started["recovery"], "hana@example.com")
    assert status["ready"] is True
    assert status["removes_second_factor"] is False
    assert status["waits"] is False

    done = complete(client, started["recovery"])

    assert done.status_code == 200, done.text
    assert done.json()["state"] == "completed"
    assert "token" not in done.json()  # a reset never logs anyone in
    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"
    assert can_log_in(client, "hana", PASSWORD) == "invalid_credentials"
    assert not session_works(client, old_session)  # every session ended
    subjects = [m["subject"] for m in outbox(client, "hana@example.com")]
    assert "Your account was recovered" in subjects
    assert "Someone is recovering your account" in subjects


def test_a_finished_recovery_and_its_code_cannot_be_used_again(client, ctx):
    account(client, ctx)
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    assert complete(client, started["recovery"]).status_code == 200

    problem(
        complete(client, started["recovery"], "yet another long passphrase"),
        410,
        "recovery_expired",
    )
    problem(send(client, started["recovery"]), 410, "recovery_expired")
    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"


def test_the_code_is_single_use_expires_and_allows_five_tries(client, ctx):
    account(client, ctx)
    first = start(client, "hana")["recovery"]
    assert send(client, first).status_code == 202
    code = last_code_sent_to(client, "hana@example.com")
    wrong = "000000" if code != "000000" else "111111"
    for left in (4, 3, 2, 1, 0):
        body = problem(prove(client, first, "email_code", code=wrong), 400, "invalid_code")
        assert body["attempts_left"] == left
    problem(prove(client, first, "email_code", code=code), 410, "challenge_expired")

    second = start(client, "hana")["recovery"]
    assert send(client, second).status_code == 202
    clock_of(ctx).advance(minutes=31)  # e-mailed recovery codes live 30 minutes
    code = last_code_sent_to(client, "hana@example.com")
    problem(prove(client, second, "email_code", code=code), 410, "challenge_expired")

    third = start(client, "hana")["recovery"]
    prove_by_email(client, third, "hana@example.com")
    code = last_code_sent_to(client, "hana@example.com")
    # Proven once; the same code again is a replay.
    problem(prove(client, third, "email_code", code=code), 409, "code_already_used")


def test_a_code_for_one_recovery_does_not_work_on_another(client, ctx):
    account(client, ctx)
    first = start(client, "hana")["recovery"]
    second = start(client, "hana")["recovery"]
    assert send(client, first).status_code == 202
    code = last_code_sent_to(client, "hana@example.com")

    problem(prove(client, second, "email_code", code=code), 410, "challenge_expired")


# --- no enumeration -----------------------------------------------------------------------


def shape(body: dict[str, object]) -> dict[str, object]:
    """An answer with the parts that differ on every call (ids, times) taken out."""
    return {k: v for k, v in body.items() if k not in {"recovery", "id", "expires_at"}}


def test_an_unknown_email_or_phone_gets_the_same_answers_and_nothing_is_sent(client, ctx):
    account(client, ctx, phone="090-1234-5678")
    known = start(client, "hana@example.com")
    unknown = start(client, "hina@example.com")

    assert shape(known) == shape(unknown) | {"options": known["options"]}
    assert unknown["options"] == [{"option": "email", "destination": "h•••a@e•••.com"}]
    assert known["options"] == unknown["options"]  # same mask: only what was typed
    sent_known = send(client, known["recovery"])
    sent_unknown = send(client, unknown["recovery"])
    assert sent_known.status_code == sent_unknown.status_code == 202
    assert sent_known.json()["sent_to"] == sent_unknown.json()["sent_to"]
    assert outbox(client, "hina@example.com") == []

    wrong_known = prove(client, known["recovery"], "email_code", code="123456")
    wrong_unknown = prove(client, unknown["recovery"], "email_code", code="123456")
    assert wrong_known.status_code == wrong_unknown.status_code
    assert wrong_known.json() == wrong_unknown.json()
    # The next steps answer alike too: a password needs a code first.
    for recovery in (known["recovery"], unknown["recovery"]):
        problem(prove(client, recovery, "password", password=PASSWORD), 409, "security_code_first")
        problem(complete(client, recovery), 409, "more_proof_needed")

    by_phone = start(client, "+81 90 1234 5678")
    unknown_phone = start(client, "090-9999-0000")
    assert by_phone["options"][0]["option"] == unknown_phone["options"][0]["option"] == "sms"
    assert shape(by_phone).keys() == shape(unknown_phone).keys()


def test_a_start_for_a_known_or_an_unknown_address_runs_the_same_statements(client, ctx):
    """What tests/attacks/test_enumeration.py measures with a clock, counted exactly. One
    statement more for a known address (its proofs read again) made those starts about
    1 ms slower, enough to tell which addresses have an account (CI, 6 December 2026)."""
    account(client, ctx, phone="090-1234-5678")

    def statements(login: str) -> list[str]:
        return statements_run(ctx, lambda: start(client, login))

    for known, unknown in (
        ("hana@example.com", "hina@example.com"),
        ("+81 90 1234 5678", "090-9999-0000"),
    ):
        statements(known), statements(unknown)  # first starts: the counters' rows are new
        assert statements(known) == statements(unknown)


def test_an_unconfirmed_address_never_receives_a_code(client, ctx):
    from tests.conftest import sign_up

    sign_up(client, "hana", email="hana@example.com")  # never confirmed
    started = start(client, "hana@example.com")

    assert send(client, started["recovery"]).status_code == 202
    assert recovery_codes(client, "hana@example.com") == []
    by_name = start(client, "hana")
    assert by_name["options"] == []
    assert by_name["next_proofs"] == ["trusted_contacts"]


def test_a_disabled_account_is_answered_like_an_unknown_one(client, ctx):
    from tests.core.helpers import run_cli

    account(client, ctx)
    assert run_cli(ctx, "users", "disable", "hana").exit_code == 0
    started = start(client, "hana@example.com")
    assert send(client, started["recovery"]).status_code == 202
    assert recovery_codes(client, "hana@example.com") == []


# --- with two-factor: never removed by one proof -------------------------------------------


def test_the_emailed_code_alone_cannot_remove_two_factor(client, ctx):
    token, _secret, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana@example.com")
    status = prove_by_email(client, started["recovery"], "hana@example.com")

    assert status["two_factor"] is True
    assert status["ready"] is False
    assert {"password", "totp", "backup_code"} <= set(status["next_proofs"])
    problem(complete(client, started["recovery"]), 409, "more_proof_needed")
    clock_of(ctx).advance(hours=100)
    assert can_log_in(client, "hana", PASSWORD) == "two_factor_required"
    assert session_works(client, token)


def test_phone_lost_password_known_waits_then_removes_two_factor(client, ctx):
    token, _secret, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    ready = prove(client, started["recovery"], "password", password=PASSWORD)
    assert ready.status_code == 200, ready.text
    assert ready.json()["ready"] is True
    assert ready.json()["removes_second_factor"] is True
    assert ready.json()["waits"] is True

    done = complete(client, started["recovery"])

    assert done.json()["state"] == "holding"
    alert = next(
        m
        for m in outbox(client, "hana@example.com")
        if m["subject"] == "Your account is being recovered"
    )
    assert re.search(r"/recovery/cancel/[A-Za-z0-9_-]{40,}", alert["body"])
    # Nothing changed yet: the old password and the app still work, the session lives.
    assert can_log_in(client, "hana", PASSWORD) == "two_factor_required"
    assert can_log_in(client, "hana", NEW_PASSWORD) == "invalid_credentials"
    assert session_works(client, token)
    pending = client.get("/api/v1/me/recoveries", headers=bearer(token)).json()["recoveries"]
    assert [p["state"] for p in pending] == ["holding"]

    clock_of(ctx).advance(hours=72, seconds=1)

    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"
    assert not session_works(client, token)
    new_token = log_in(client, "hana", NEW_PASSWORD)
    overview = client.get("/api/v1/me/security", headers=bearer(new_token)).json()
    assert overview["two_factor"]["enabled"] is False
    assert overview["backup_codes"]["exists"] is False
    assert "Your account was recovered" in [
        m["subject"] for m in outbox(client, "hana@example.com")
    ]


def test_a_cancelled_recovery_leaves_the_account_as_it_was(client, ctx):
    token, secret, _codes = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    prove(client, started["recovery"], "password", password=PASSWORD)
    assert complete(client, started["recovery"]).json()["state"] == "holding"
    alert = next(
        m
        for m in outbox(client, "hana@example.com")
        if m["subject"] == "Your account is being recovered"
    )
    found = re.search(r"/recovery/cancel/([A-Za-z0-9_-]+)", alert["body"])
    assert found

    cancelled = client.post("/api/v1/recovery/cancellations", json={"cancel_token": found.group(1)})

    assert cancelled.status_code == 204
    clock_of(ctx).advance(hours=73)
    assert can_log_in(client, "hana", NEW_PASSWORD) == "invalid_credentials"
    challenge = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD}).json()
    verified = client.post(
        f"/api/v1/login/{challenge['challenge']}/verify",
        json={"method": "totp", "code": app_code(secret, clock_of(ctx))},
    )
    assert verified.status_code == 200  # the app still guards the account
    assert session_works(client, token)
    problem(
        client.post("/api/v1/recovery/cancellations", json={"cancel_token": found.group(1)}),
        410,
        "cancel_link_expired",
    )
    problem(complete(client, started["recovery"]), 410, "recovery_expired")


def test_the_owner_cancels_from_any_logged_in_session(client, ctx):
    token, _, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    prove(client, started["recovery"], "password", password=PASSWORD)
    complete(client, started["recovery"])
    recovery_id = client.get("/api/v1/me/recoveries", headers=bearer(token)).json()["recoveries"][
        0
    ]["id"]

    account(client, ctx, "mallory")
    other = log_in(client, "mallory")
    problem(
        client.post(f"/api/v1/me/recoveries/{recovery_id}/cancel", headers=bearer(other)),
        404,
        "recovery_not_found",
    )
    assert (
        client.post(
            f"/api/v1/me/recoveries/{recovery_id}/cancel", headers=bearer(token)
        ).status_code
        == 204
    )

    clock_of(ctx).advance(hours=73)
    assert can_log_in(client, "hana", PASSWORD) == "two_factor_required"
    assert client.get("/api/v1/me/recoveries", headers=bearer(token)).json()["recoveries"] == []
    assert [e.details["reason"] for e in events(ctx, "recovery.cancelled")] == [
        "cancelled_by_owner"
    ]


def test_code_and_app_reset_the_password_at_once_and_keep_two_factor(client, ctx):
    token, secret, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    proven = prove(client, started["recovery"], "totp", code=app_code(secret, clock_of(ctx)))
    assert proven.json()["removes_second_factor"] is False

    assert complete(client, started["recovery"]).json()["state"] == "completed"
    assert can_log_in(client, "hana", NEW_PASSWORD) == "two_factor_required"
    assert not session_works(client, token)


def test_code_and_a_backup_code_reset_the_password_and_keep_two_factor(client, ctx):
    _, _, codes = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    assert prove(client, started["recovery"], "backup_code", code=codes[0]).status_code == 200

    assert complete(client, started["recovery"]).json()["state"] == "completed"
    assert can_log_in(client, "hana", NEW_PASSWORD) == "two_factor_required"


def test_a_wrong_password_in_recovery_counts_and_waits(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    for _ in range(5):
        problem(
            prove(client, started["recovery"], "password", password="not it at all"),
            401,
            "invalid_credentials",
        )
    waiting = prove(client, started["recovery"], "password", password=PASSWORD)
    problem(waiting, 429, "too_many_attempts")
    assert int(waiting.headers["retry-after"]) > 0


# --- races and dead attempts --------------------------------------------------------------


def test_two_recoveries_ready_at_once_do_not_both_complete(client, ctx):
    account(client, ctx)
    first = start(client, "hana")["recovery"]
    second = start(client, "hana")["recovery"]
    prove_by_email(client, first, "hana@example.com")
    clock_of(ctx).advance(seconds=31)
    prove_by_email(client, second, "hana@example.com")

    assert complete(client, first, "first new long passphrase").status_code == 200
    problem(complete(client, second, "second new long passphrase"), 410, "recovery_expired")
    assert can_log_in(client, "hana", "first new long passphrase") == "authenticated"


def test_two_holding_recoveries_cannot_both_wait(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    attempts = [start(client, "hana")["recovery"] for _ in range(2)]
    for recovery in attempts:
        prove_by_email(client, recovery, "hana@example.com")
        clock_of(ctx).advance(seconds=31)
        prove(client, recovery, "password", password=PASSWORD)

    assert complete(client, attempts[0], "first new long passphrase").json()["state"] == "holding"
    problem(
        complete(client, attempts[1], "second new long passphrase"), 409, "recovery_in_progress"
    )
    clock_of(ctx).advance(hours=73)
    assert can_log_in(client, "hana", "first new long passphrase") == "authenticated"
    assert can_log_in(client, "hana", "second new long passphrase") == "invalid_credentials"


def test_changing_the_password_kills_every_recovery_under_way(client, ctx):
    account(client, ctx)
    token = log_in(client, "hana")
    started = start(client, "hana")["recovery"]
    prove_by_email(client, started, "hana@example.com")

    changed = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "owner changed it quickly"},
    )
    assert changed.status_code == 204

    problem(complete(client, started), 410, "recovery_expired")
    problem(client.get(f"/api/v1/recovery/{started}"), 410, "recovery_expired")


def test_a_password_change_during_the_hold_ends_the_recovery(client, ctx):
    token, _, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")["recovery"]
    prove_by_email(client, started, "hana@example.com")
    prove(client, started, "password", password=PASSWORD)
    complete(client, started)
    reauth = client.post(
        "/api/v1/me/reauthenticate", headers=bearer(token), json={"password": PASSWORD}
    )
    assert reauth.status_code == 204
    client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "owner changed it quickly"},
    )

    clock_of(ctx).advance(hours=73)

    assert can_log_in(client, "hana", NEW_PASSWORD) == "invalid_credentials"
    assert can_log_in(client, "hana", "owner changed it quickly") == "two_factor_required"


def test_an_expired_or_unknown_recovery_is_410(client, ctx):
    account(client, ctx)
    started = start(client, "hana")["recovery"]
    clock_of(ctx).advance(hours=24, seconds=1)

    problem(send(client, started), 410, "recovery_expired")
    problem(client.get("/api/v1/recovery/" + "x" * 43), 410, "recovery_expired")


# --- throttles ----------------------------------------------------------------------------


def test_recovery_starts_are_limited_per_account_and_per_ip(client, ctx):
    account(client, ctx)
    for _ in range(5):
        start(client, "HANA")
    problem(client.post("/api/v1/recovery", json={"login": "hana"}), 429, "too_many_attempts")
    # Another notation of an unknown login counts the same way: no oracle.
    for _ in range(5):
        start(client, "nobody@example.com")
    problem(
        client.post("/api/v1/recovery", json={"login": "NOBODY@example.com"}),
        429,
        "too_many_attempts",
    )


def test_the_ip_limit_holds_across_accounts(ctx):
    from tests.core.helpers import app_client

    tight = with_settings(ctx, recovery_starts_per_ip_hour=3)
    with app_client(tight) as client:
        for name in ("a_one", "a_two", "a_three"):
            start(client, name)
        problem(client.post("/api/v1/recovery", json={"login": "a_four"}), 429, "too_many_attempts")


# --- hostile input ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {"login": "a\x00b"},
        {"login": "x" * 10_000},
        {"login": ""},
        {"login": 12345},
        {"login": ["hana"]},
        {},
    ],
)
def test_hostile_starts_are_refused_or_answered_alike_and_store_nothing_usable(client, ctx, body):
    response = client.post("/api/v1/recovery", json=body)
    if response.status_code == 202:  # a NUL byte is just a login that matches nobody
        assert response.json()["options"] == []
        return
    problem(response, 422, "invalid_request")
    assert count(ctx, RecoveryAttempt) == 0


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("send", {"option": "carrier pigeon"}),
        ("send", {"option": None}),
        ("proofs", {"method": "email_code", "code": "1" * 65}),
        ("proofs", {"method": "magic", "code": "123456"}),
        ("proofs", {"method": "password", "password": "p" * 5000}),
        ("complete", {"new_password": ""}),
        ("complete", {"new_password": 7}),
    ],
)
def test_hostile_steps_get_a_clear_422(client, ctx, path, body):
    account(client, ctx)
    recovery = start(client, "hana")["recovery"]

    problem(client.post(f"/api/v1/recovery/{recovery}/{path}", json=body), 422, "invalid_request")


def test_hostile_codes_and_ids_are_refused_without_harm(client, ctx):
    account(client, ctx)
    recovery = start(client, "hana")["recovery"]
    assert send(client, recovery).status_code == 202

    for typed in ("１２３４５６", "12 34 56", "<script>", "١٢٣٤٥٦", "' OR 1=1 --"):
        response = prove(client, recovery, "email_code", code=typed)
        assert response.status_code in (400, 410), response.text
    problem(client.get("/api/v1/recovery/%00"), 410, "recovery_expired")
    problem(client.get("/api/v1/recovery/" + "a" * 129), 422, "invalid_request")
    problem(
        client.post("/api/v1/recovery/cancellations", json={"cancel_token": "\x00" * 10}),
        410,
        "cancel_link_expired",
    )
    assert can_log_in(client, "hana", PASSWORD) == "authenticated"


def test_an_unknown_address_runs_out_of_sends_exactly_like_a_known_one(ctx):
    from tests.core.helpers import app_client

    tight = with_settings(ctx, security_code_sends_per_destination_hour=3)
    with app_client(tight) as client:
        account(client, tight)
        clock_of(tight).advance(hours=1)  # past the hour of the code that confirmed it
        answers = {}
        for login in ("hana@example.com", "hina@example.com"):
            first = start(client, login)["recovery"]
            second = start(client, login.upper())["recovery"]
            statuses = []
            for recovery in (first, first, second, second):
                statuses.append(send(client, recovery).status_code)
                clock_of(tight).advance(seconds=31)
            answers[login] = statuses
        assert answers["hana@example.com"] == answers["hina@example.com"] == [202, 202, 202, 429]


def test_a_channel_that_is_down_answers_like_an_unknown_address(ctx):
    import socket

    from tests.core.helpers import app_client

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    with app_client(ctx) as client:
        account(client, ctx)
    down = with_settings(ctx, smtp_host="127.0.0.1", smtp_port=closed_port, smtp_security="none")
    with app_client(down) as client:
        known = start(client, "hana@example.com")["recovery"]
        unknown = start(client, "hina@example.com")["recovery"]
        sent_known, sent_unknown = send(client, known), send(client, unknown)

        assert sent_known.status_code == sent_unknown.status_code == 202
        assert sent_known.json()["sent_to"] == sent_unknown.json()["sent_to"]
        for recovery in (known, unknown):
            problem(prove(client, recovery, "email_code", code="123456"), 400, "invalid_code")
    # The request never waits on the channel: the worker meets the outage, and retries.
    from mamori.notifications.delivery import deliver_pending

    assert deliver_pending(down).retrying >= 1
    with ctx.database.session() as db:
        codes = select(OutboxMessage.status).where(OutboxMessage.kind == "code")
        *_, recovery_code = db.scalars(codes.order_by(OutboxMessage.id))
        assert recovery_code == "pending"  # kept for the next try, not lost


def test_new_recoveries_bring_no_fresh_guesses(client, ctx):
    account(client, ctx)
    answers = {}
    for login in ("hana@example.com", "hina@example.com"):
        statuses = []
        for _ in range(3):
            recovery = start(client, login)["recovery"]
            assert send(client, recovery).status_code == 202
            for _ in range(4):
                statuses.append(prove(client, recovery, "email_code", code="000000").status_code)
        answers[login] = statuses
        clock_of(ctx).advance(hours=1)  # past the hourly start limit, inside the code window

    # Ten wrong codes across recoveries of one typed login, then each one waits longer.
    assert answers["hana@example.com"] == answers["hina@example.com"]
    assert answers["hana@example.com"][:10] == [400] * 10
    assert answers["hana@example.com"][10] == 429


def test_a_recovery_that_died_with_a_password_change_neither_shows_nor_blocks(client, ctx):
    token, secret, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    first = start(client, "hana")["recovery"]
    prove_by_email(client, first, "hana@example.com")
    prove(client, first, "password", password=PASSWORD)
    assert complete(client, first).json()["state"] == "holding"
    client.post("/api/v1/me/reauthenticate", headers=bearer(token), json={"password": PASSWORD})
    changed = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "owner changed it quickly"},
    )
    assert changed.status_code == 204
    owner = log_in_with_app(client, ctx, secret, "owner changed it quickly")

    assert client.get("/api/v1/me/recoveries", headers=bearer(owner)).json()["recoveries"] == []
    clock_of(ctx).advance(seconds=31)
    second = start(client, "hana")["recovery"]
    prove_by_email(client, second, "hana@example.com")
    prove(client, second, "password", password="owner changed it quickly")
    assert complete(client, second, "the real owner's new passphrase").json()["state"] == "holding"


def log_in_with_app(client, ctx, secret: str, password: str) -> str:
    challenge = client.post("/api/v1/login", json={"login": "hana", "password": password}).json()
    assert challenge["status"] == "two_factor_required"
    clock_of(ctx).advance(seconds=30)
    verified = client.post(
        f"/api/v1/login/{challenge['challenge']}/verify",
        json={"method": "totp", "code": app_code(secret, clock_of(ctx))},
    )
    assert verified.status_code == 200, verified.text
    return str(verified.json()["token"])
