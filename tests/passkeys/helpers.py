"""Helpers for passkey tests: an account with a passkey, a passkey login over the API."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from tests.conftest import bearer, log_in, sign_up
from tests.passkeys.authenticator import SoftAuthenticator

ME = "/api/v1/me/passkeys"


def account(client: TestClient, username: str = "hana") -> str:
    """A new account (with an e-mail, for alerts) and a fresh session's token."""
    sign_up(client, username, email=f"{username}@example.com")
    return log_in(client, username)


def add_passkey(
    client: TestClient, token: str, authenticator: SoftAuthenticator, **misbehave: Any
) -> Response:
    options = client.post(f"{ME}/registration-options", headers=bearer(token))
    assert options.status_code == 200, options.text
    credential = authenticator.create(options.json(), **misbehave)
    answer: Response = client.post(ME, json={"credential": credential}, headers=bearer(token))
    return answer


def login_options(client: TestClient) -> dict[str, Any]:
    answer = client.post("/api/v1/login/passkey/options")
    assert answer.status_code == 200, answer.text
    options: dict[str, Any] = answer.json()
    return options


def passkey_login(
    client: TestClient, authenticator: SoftAuthenticator, **misbehave: Any
) -> Response:
    credential = authenticator.get(login_options(client), **misbehave)
    answer: Response = client.post("/api/v1/login/passkey", json={"credential": credential})
    return answer
