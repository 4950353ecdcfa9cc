"""Each thing a passkey login must refuse, refused: a replay, another site, another relying
party, no user verification, a counter that went back, a challenge too old or for
something else."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.accounts.models import User
from mamori.passkeys.models import Passkey
from tests.backup_codes.helpers import subjects
from tests.conftest import PASSWORD, bearer, log_in
from tests.core.helpers import events, problem
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import ME, account, add_passkey, login_options, passkey_login

LOGIN = "/api/v1/login/passkey"


def with_passkey(client: TestClient, **kind: Any) -> tuple[str, SoftAuthenticator]:
    token = account(client)
    phone = SoftAuthenticator(**kind)
    assert add_passkey(client, token, phone).status_code == 201
    return token, phone


@pytest.mark.both_databases
def test_a_replayed_assertion_is_refused(client):
    _, phone = with_passkey(client)
    credential = phone.get(login_options(client))
    assert client.post(LOGIN, json={"credential": credential}).status_code == 200

    replayed = client.post(LOGIN, json={"credential": credential})

    problem(replayed, 400, "passkey_request_expired")


def test_an_assertion_made_for_another_site_is_refused(client, ctx):
    _, phone = with_passkey(client)

    answer = passkey_login(client, phone, origin="https://mamori.example.net")

    problem(answer, 400, "passkey_not_accepted")
    assert [e.details["reason"] for e in events(ctx, "login.passkey_failed")] == [
        "passkey_not_accepted"
    ]


def test_an_assertion_for_another_relying_party_is_refused(client):
    _, phone = with_passkey(client)

    problem(passkey_login(client, phone, rp_id="evil.example"), 400, "passkey_not_accepted")


def test_a_passkey_alone_needs_user_verification(client):
    _, phone = with_passkey(client)

    problem(passkey_login(client, phone, user_verified=False), 400, "passkey_not_accepted")
    assert passkey_login(client, phone).status_code == 200


def test_a_registration_for_another_site_is_refused(client):
    token = account(client)

    answer = add_passkey(client, token, SoftAuthenticator(), origin="https://evil.example")

    problem(answer, 400, "passkey_not_accepted")
    assert client.get(ME, headers=bearer(token)).json()["passkeys"] == []


def test_a_counter_that_goes_back_is_refused_audited_and_the_owner_told(client, ctx):
    _, phone = with_passkey(client)
    assert passkey_login(client, phone, sign_count=7).status_code == 200

    copied = passkey_login(client, phone, sign_count=3)

    problem(copied, 400, "passkey_not_accepted")
    [event] = events(ctx, "passkey.sign_count_backwards")
    assert event.details["stored_count"] == 7
    assert "A passkey may have been copied" in subjects(ctx, "hana@example.com")
    with ctx.database.session() as db:
        [passkey] = db.query(Passkey).all()
        assert passkey.sign_count == 7  # the refused count is not kept


def test_a_counter_that_stays_at_zero_is_fine_for_synced_passkeys(client):
    _, phone = with_passkey(client, synced=True, counts=False)

    assert passkey_login(client, phone).status_code == 200
    assert passkey_login(client, phone).status_code == 200


def test_a_counter_that_goes_back_with_a_bad_signature_alerts_nobody(client, ctx):
    _, phone = with_passkey(client)
    assert passkey_login(client, phone, sign_count=7).status_code == 200

    forged = passkey_login(client, phone, sign_count=3, origin="https://evil.example")

    problem(forged, 400, "passkey_not_accepted")
    assert events(ctx, "passkey.sign_count_backwards") == []


def test_a_challenge_lives_five_minutes(client, clock):
    _, phone = with_passkey(client)
    options = login_options(client)
    clock.advance(minutes=5, seconds=1)

    late = client.post(LOGIN, json={"credential": phone.get(options)})

    problem(late, 400, "passkey_request_expired")


def test_a_challenge_given_for_adding_a_passkey_does_not_log_in(client):
    token, phone = with_passkey(client)
    options = client.post(f"{ME}/registration-options", headers=bearer(token)).json()
    options["rpId"] = "localhost"

    answer = client.post(LOGIN, json={"credential": phone.get(options)})

    problem(answer, 400, "passkey_request_expired")


def test_a_disabled_account_cannot_log_in_with_its_passkey(client, ctx):
    _, phone = with_passkey(client)
    with ctx.database.session() as db:
        user = db.query(User).filter_by(username="hana").one()
        user.disabled_at = ctx.clock.now()

    problem(passkey_login(client, phone), 400, "passkey_not_accepted")


def test_malformed_credentials_are_refused_not_crashed(client):
    login_options(client)
    for credential in ({}, {"id": "x", "rawId": "x", "response": {}}, {"id": 5}):
        answer = client.post(LOGIN, json={"credential": credential})
        problem(answer, 400, "passkey_not_accepted")


def test_a_registration_belongs_to_the_session_that_asked(client):
    token = account(client)
    other_session = log_in(client)
    options = client.post(f"{ME}/registration-options", headers=bearer(token)).json()
    credential = SoftAuthenticator().create(options)

    elsewhere = client.post(ME, json={"credential": credential}, headers=bearer(other_session))

    problem(elsewhere, 400, "passkey_request_expired")
    assert client.get(ME, headers=bearer(token)).json()["passkeys"] == []


def test_a_registration_challenge_lives_five_minutes(client, clock):
    token = account(client)
    options = client.post(f"{ME}/registration-options", headers=bearer(token)).json()
    clock.advance(minutes=5, seconds=1)
    client.post("/api/v1/me/reauthenticate", json={"password": PASSWORD}, headers=bearer(token))

    late = client.post(
        ME, json={"credential": SoftAuthenticator().create(options)}, headers=bearer(token)
    )

    problem(late, 400, "passkey_request_expired")
