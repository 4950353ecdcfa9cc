"""The security event log: what is written, that it cannot be rewritten, and `mamori audit`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import events, run_cli

pytestmark = pytest.mark.both_databases

NEW_PASSWORD = "another long passphrase 7"
PHONE_UA = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4) Mobile Safari/604.1"


def a_day_in_the_life(client) -> dict[str, str]:
    """Sign up, fail and succeed to log in, change the password, end a session."""
    ua = {"User-Agent": PHONE_UA}
    client.post("/api/v1/accounts", json={"username": "hana", "password": PASSWORD}, headers=ua)
    client.post("/api/v1/login", json={"login": "hana", "password": "wrong"}, headers=ua)
    client.post("/api/v1/login", json={"login": "ghost", "password": "wrong"}, headers=ua)
    token = log_in(client)
    other = log_in(client)
    other_id = next(
        s["id"]
        for s in client.get("/api/v1/me/sessions", headers=bearer(token)).json()["sessions"]
        if not s["current"]
    )
    client.delete(f"/api/v1/me/sessions/{other_id}", headers=bearer(token))
    client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    return {"token": token, "other": other}


def test_every_security_event_is_logged_with_ip_and_device(client, ctx):
    a_day_in_the_life(client)

    logged = [(e.event, e.outcome) for e in events(ctx)]

    assert logged == [
        ("account.signed_up", "success"),
        ("login.password_failed", "failure"),
        ("login.password_failed", "failure"),
        ("login.succeeded", "success"),
        ("login.succeeded", "success"),
        ("session.revoked", "success"),
        ("password.changed", "success"),
    ]
    signed_up, bad_password, unknown = events(ctx)[:3]
    assert signed_up.user_agent == bad_password.user_agent == PHONE_UA
    assert bad_password.details["reason"] == "bad_password"
    assert unknown.details["reason"] == "unknown_account"
    assert all(e.ip == "testclient" for e in events(ctx))
    assert all(e.at == ctx.clock.now() for e in events(ctx))


def test_no_password_or_token_ever_reaches_the_log(client, ctx):
    tokens = a_day_in_the_life(client)

    with ctx.database.engine.connect() as connection:
        dump = " ".join(str(row) for row in connection.execute(text("SELECT * FROM audit_events")))

    for secret in (PASSWORD, NEW_PASSWORD, "wrong", tokens["token"], tokens["other"]):
        assert secret not in dump


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET event = 'nothing.happened'",
        "UPDATE audit_events SET user_id = NULL",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE event = 'login.password_failed'",
    ],
)
def test_the_database_refuses_to_rewrite_or_erase_the_log(client, ctx, statement):
    a_day_in_the_life(client)
    before = [(e.id, e.event, e.user_id) for e in events(ctx)]

    with pytest.raises(DBAPIError, match="append-only"), ctx.database.engine.begin() as connection:
        connection.execute(text(statement))

    assert [(e.id, e.event, e.user_id) for e in events(ctx)] == before


def test_new_events_can_still_be_added_after_a_refused_change(client, ctx):
    a_day_in_the_life(client)
    with pytest.raises(DBAPIError), ctx.database.engine.begin() as connection:
        connection.execute(text("DELETE FROM audit_events"))

    log_in(client, password=NEW_PASSWORD)

    assert events(ctx)[-1].event == "login.succeeded"


def test_mamori_audit_prints_the_log_newest_first(client, ctx):
    a_day_in_the_life(client)

    result = run_cli(ctx, "audit")

    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 7
    assert "password.changed" in lines[0]
    assert "account.signed_up" in lines[-1]
    failure = next(line for line in lines if "unknown_account" in line)
    assert "failure" in failure
    assert "ip=testclient" in failure


def test_mamori_audit_json_has_every_field(client, ctx):
    a_day_in_the_life(client)

    result = run_cli(ctx, "audit", "--json", "--event", "login.password_failed")

    rows = [json.loads(line) for line in result.output.strip().splitlines()]
    assert [row["details"]["reason"] for row in rows] == ["unknown_account", "bad_password"]
    for row in rows:
        assert set(row) >= {"at", "event", "outcome", "user_id", "ip", "user_agent", "details"}
        assert row["user_agent"] == PHONE_UA
        assert row["ip"] == "testclient"


def test_mamori_audit_filters_by_user_and_limits(client, ctx):
    a_day_in_the_life(client)
    sign_up(client, "kenji")

    hana_only = run_cli(ctx, "audit", "--user", "hana", "--json")
    newest_two = run_cli(ctx, "audit", "--limit", "2", "--json")

    hana_events = [json.loads(line)["event"] for line in hana_only.output.strip().splitlines()]
    assert "account.signed_up" in hana_events
    assert len(hana_events) == 6  # the unknown-account failure belongs to no one
    assert [json.loads(line)["event"] for line in newest_two.output.strip().splitlines()] == [
        "account.signed_up",
        "password.changed",
    ]


def test_mamori_audit_for_an_unknown_user_says_so(ctx):
    result = run_cli(ctx, "audit", "--user", "nobody")

    assert result.exit_code == 1
    assert "no account named 'nobody'" in result.output
