"""A passkey wherever a second factor is asked for, through the one registry: the login's
second step (offered first), "Confirm it's you", and a recovery's second proof."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select

from mamori.sessions.models import LoginSession
from tests.conftest import PASSWORD, bearer
from tests.core.helpers import clock_of, events, problem
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import ME, account, add_passkey, passkey_login
from tests.recovery.helpers import confirm_addresses, prove, prove_by_email, start
from tests.two_factor.helpers import user_with_app


def app_and_passkey(client: TestClient, ctx: Any) -> tuple[str, SoftAuthenticator]:
    token, _secret, _codes = user_with_app(client, clock_of(ctx))
    phone = SoftAuthenticator()
    assert add_passkey(client, token, phone).status_code == 201
    return token, phone


def password_step(client: TestClient) -> dict[str, Any]:
    answer = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def options_for(client: TestClient, path: str, token: str | None = None) -> dict[str, Any]:
    answer = client.post(path, headers=bearer(token) if token else {})
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def second_step(client: TestClient, challenge: str, credential: dict[str, Any]) -> Response:
    answer: Response = client.post(
        f"/api/v1/login/{challenge}/verify", json={"method": "passkey", "credential": credential}
    )
    return answer


def test_the_second_step_offers_the_passkey_first_and_takes_it(client, ctx):
    _, phone = app_and_passkey(client, ctx)

    step = password_step(client)
    assert step["status"] == "two_factor_required"
    assert step["methods"][:2] == ["passkey", "totp"]
    options = options_for(client, f"/api/v1/login/{step['challenge']}/passkey-options")
    # The password is proven: the options name this person's passkey; UV only preferred.
    assert len(options["allowCredentials"]) == 1
    assert options["userVerification"] == "preferred"

    answer = second_step(client, step["challenge"], phone.get(options, user_verified=False))

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "authenticated"
    assert events(ctx, "login.succeeded")[-1].details["factor"] == "password+passkey"
    # What an app signed in through mamori is told (OpenID Connect `amr`, RFC 8176).
    assert newest_session_amr(ctx) == "pwd hwk mfa"


def test_a_passkey_alone_counts_as_two_factors_for_apps(client, ctx):
    _, phone = app_and_passkey(client, ctx)

    answer = passkey_login(client, phone)

    assert answer.json()["status"] == "authenticated"
    assert newest_session_amr(ctx) == "hwk mfa"


def newest_session_amr(ctx: Any) -> str | None:
    with ctx.database.session() as db:
        newest: LoginSession | None = db.scalars(
            select(LoginSession).order_by(LoginSession.id.desc())
        ).first()
        assert newest is not None
        return newest.amr


def test_another_persons_passkey_does_not_pass_the_second_step_and_counts(client, ctx):
    app_and_passkey(client, ctx)
    client.post("/api/v1/logout")
    kenji = account(client, "kenji")
    theirs = SoftAuthenticator()
    add_passkey(client, kenji, theirs)

    step = password_step(client)
    options = options_for(client, f"/api/v1/login/{step['challenge']}/passkey-options")
    answer = second_step(client, step["challenge"], theirs.get(options))

    problem(answer, 400, "passkey_not_accepted")
    [failed] = events(ctx, "login.second_factor_failed")
    assert failed.details["method"] == "passkey"
    assert failed.details["consecutive_failures"] == 1


def test_a_challenge_of_one_login_does_not_serve_another(client, ctx):
    _, phone = app_and_passkey(client, ctx)
    first, second = password_step(client), password_step(client)
    options = options_for(client, f"/api/v1/login/{first['challenge']}/passkey-options")

    answer = second_step(client, second["challenge"], phone.get(options))

    problem(answer, 400, "passkey_request_expired")


def test_a_passkey_confirms_its_you(client, ctx):
    token, phone = app_and_passkey(client, ctx)
    passkey_id = client.get(ME, headers=bearer(token)).json()["passkeys"][0]["id"]
    clock_of(ctx).advance(minutes=11)
    problem(
        client.delete(f"{ME}/{passkey_id}", headers=bearer(token)), 403, "reauthentication_required"
    )

    options = options_for(client, "/api/v1/me/reauthenticate/passkey-options", token)
    confirmed = client.post(
        "/api/v1/me/reauthenticate",
        json={"method": "passkey", "credential": phone.get(options)},
        headers=bearer(token),
    )

    assert confirmed.status_code == 204, confirmed.text
    assert client.delete(f"{ME}/{passkey_id}", headers=bearer(token)).status_code == 204
    assert events(ctx, "reauthentication.succeeded")[-1].details["factor"] == "passkey"


def test_without_a_passkey_there_are_no_passkey_options(client, ctx):
    token, _secret, _codes = user_with_app(client, clock_of(ctx))

    step = password_step(client)

    assert "passkey" not in step["methods"]
    problem(
        client.post(f"/api/v1/login/{step['challenge']}/passkey-options"),
        400,
        "method_not_available",
    )
    problem(
        client.post("/api/v1/me/reauthenticate/passkey-options", headers=bearer(token)),
        400,
        "method_not_available",
    )


def test_a_passkey_is_a_recovery_proof_and_two_factor_stays_on(client, ctx):
    _, phone = app_and_passkey(client, ctx)
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    recovery = started["recovery"]
    status = prove_by_email(client, recovery, "hana@example.com")
    assert status["next_proofs"][:2] == ["password", "passkey"]

    options = options_for(client, f"/api/v1/recovery/{recovery}/passkey-options")
    assert options["allowCredentials"] == []  # nothing about the account before the proof
    proven = prove(client, recovery, "passkey", credential=phone.get(options))  # type: ignore[arg-type]

    assert proven.status_code == 200, proven.text
    body = proven.json()
    assert body["ready"] is True
    assert body["removes_second_factor"] is False
    assert "passkey" in body["proofs"]


def test_two_factor_can_start_with_a_passkey_and_backup_codes_come_with_it(client, ctx):
    token = account(client)
    add_passkey(client, token, SoftAuthenticator())
    status = client.get("/api/v1/me/two-factor", headers=bearer(token)).json()
    assert status["enabled"] is False

    turned_on = client.post("/api/v1/me/two-factor/passkey", headers=bearer(token))

    assert turned_on.status_code == 200, turned_on.text
    assert len(turned_on.json()["backup_codes"]) == 10
    status = client.get("/api/v1/me/two-factor", headers=bearer(token)).json()
    assert status == {"enabled": True, "methods": ["passkey"], "default_method": "passkey"}
    step = password_step(client)
    assert step["methods"] == ["passkey", "backup_code"]


def test_the_only_two_factor_passkey_is_not_removed_and_turning_off_keeps_it(client, ctx):
    token = account(client)
    phone = SoftAuthenticator()
    passkey_id = add_passkey(client, token, phone).json()["id"]
    client.post("/api/v1/me/two-factor/passkey", headers=bearer(token))

    refused = client.delete(f"{ME}/{passkey_id}", headers=bearer(token))

    problem(refused, 409, "only_two_factor_method")
    off = client.delete("/api/v1/me/two-factor", headers=bearer(token))
    assert off.status_code == 204, off.text
    # Two-factor is off; the passkey still logs in on its own.
    assert len(client.get(ME, headers=bearer(token)).json()["passkeys"]) == 1
    assert client.delete(f"{ME}/{passkey_id}", headers=bearer(token)).status_code == 204


def test_with_the_app_on_a_passkey_counts_among_the_methods(client, ctx):
    token, _ = app_and_passkey(client, ctx)

    status = client.get("/api/v1/me/two-factor", headers=bearer(token)).json()

    assert set(status["methods"]) == {"passkey", "totp"}
    assert status["default_method"] == "totp"
