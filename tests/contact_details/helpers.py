"""Helpers for contact-details tests: an account over the API, the codes it was sent."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from httpx import Response

from mamori.accounts.models import User
from mamori.context import Context
from tests.conftest import bearer, log_in, sign_up
from tests.two_factor.helpers import last_code_sent_to

PAGE = "/accounts/center/password-and-security/contact-details"


def account(client: TestClient, username: str = "hana", **extra: str) -> str:
    """Sign up and log in; the fresh session counts as just reauthenticated."""
    sign_up(client, username, **extra)
    return log_in(client, username)


def details(client: TestClient, token: str) -> dict[str, Any]:
    response = client.get("/api/v1/me/contact-details", headers=bearer(token))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def put(client: TestClient, token: str, kind: str, value: object) -> Response:
    response: Response = client.put(f"/api/v1/me/{kind}", headers=bearer(token), json={kind: value})
    return response


def confirm(client: TestClient, token: str, kind: str, code: object) -> Response:
    response: Response = client.post(
        f"/api/v1/me/{kind}/confirm", headers=bearer(token), json={"code": code}
    )
    return response


def remove(client: TestClient, token: str, kind: str) -> Response:
    response: Response = client.delete(f"/api/v1/me/{kind}", headers=bearer(token))
    return response


def code_for(client: TestClient, to: str) -> str:
    return last_code_sent_to(client, to)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def messages_to(client: TestClient, to: str) -> list[dict[str, Any]]:
    """Messages delivered to `to`, newest first."""
    return [m for m in client.get("/dev/outbox").json() if m["to"] == to]


def stored_user(ctx: Context, username: str = "hana") -> User:
    with ctx.database.session() as db:
        user = db.query(User).filter(User.username == username).one()
        db.expunge(user)
        return user


def confirm_addresses(client: TestClient, token: str, **sent_to: str) -> None:
    """Confirm the account's e-mail and/or phone with the codes sent to them
    (`email="hana@example.com", phone="+819012345678"`: where each code goes)."""
    for kind, to in sent_to.items():
        sent = client.post(f"/api/v1/me/{kind}/send", headers=bearer(token))
        assert sent.status_code == 202, sent.text
        confirmed = confirm(client, token, kind, code_for(client, to))
        assert confirmed.status_code == 200, confirmed.text
