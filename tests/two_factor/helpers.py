"""Helpers for two-factor tests: an authenticator app, the outbox, a logged-in user."""

from __future__ import annotations

import re

import pyotp
from fastapi.testclient import TestClient

from mamori.core.clock import MovableClock
from tests.conftest import PASSWORD, bearer, log_in, sign_up


def app_code(secret: str, clock: MovableClock, steps: int = 0) -> str:
    """What the user's phone shows, `steps` time steps from now."""
    return str(pyotp.TOTP(secret).at(clock.now().timestamp() + 30 * steps))


def last_code_sent_to(client: TestClient, to: str) -> str:
    messages = [m for m in client.get("/dev/outbox").json() if m["to"] == to]
    assert messages, f"nothing was sent to {to}"
    found = re.search(r"\b(\d{6})\b", messages[0]["body"])
    assert found, messages[0]["body"]
    return found.group(1)


def outbox_subjects(client: TestClient, to: str) -> list[str]:
    return [m["subject"] for m in client.get("/dev/outbox").json() if m["to"] == to]


def user_with_app(
    client: TestClient, clock: MovableClock, username: str = "hana"
) -> tuple[str, str, list[str]]:
    """Sign up, turn on an authenticator app; returns (token, secret, backup codes)."""
    sign_up(client, username, email=f"{username}@example.com")
    token = log_in(client, username)
    enrollment = client.post("/api/v1/me/two-factor/totp", headers=bearer(token))
    assert enrollment.status_code == 200, enrollment.text
    secret = enrollment.json()["secret"]
    confirmed = client.post(
        "/api/v1/me/two-factor/totp/confirm",
        headers=bearer(token),
        json={"code": app_code(secret, clock)},
    )
    assert confirmed.status_code == 200, confirmed.text
    clock.advance(seconds=30)  # the next login uses a fresh time step
    return token, secret, confirmed.json()["backup_codes"]


def start_login(client: TestClient, username: str = "hana") -> dict[str, object]:
    response = client.post("/api/v1/login", json={"login": username, "password": PASSWORD})
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    assert body["status"] == "two_factor_required"
    return body
