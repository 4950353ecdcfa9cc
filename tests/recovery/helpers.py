"""Helpers for recovery tests: accounts with confirmed addresses, codes from the outbox."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import update

from mamori.accounts.models import User
from mamori.context import Context
from tests.conftest import bearer, log_in, sign_up

NEW_PASSWORD = "a completely new passphrase 2026"
CODE = re.compile(r"\b(\d{6})\b")


def last_code_sent_to(client: TestClient, to: str) -> str:
    """The newest security code in the outbox for `to` (alerts carry none)."""
    for message in client.get("/dev/outbox").json():
        found = CODE.search(message["body"])
        if message["to"] == to and message.get("subject", "") != "" and found:
            return found.group(1)
        if message["to"] == to and message["channel"] == "sms" and found:
            return found.group(1)
    raise AssertionError(f"no code was sent to {to}")


def confirm_addresses(ctx: Context, username: str) -> None:
    """The account's e-mail and phone as confirmed: the state Contact details leaves
    (that flow is tested in tests/contact_details; `account` goes through it)."""
    with ctx.database.session() as db:
        db.execute(
            update(User)
            .where(User.username_key == username.casefold())
            .values(email_confirmed_at=ctx.clock.now(), phone_confirmed_at=ctx.clock.now())
        )


def account(
    client: TestClient, ctx: Context, username: str = "hana", phone: str | None = None
) -> dict[str, Any]:
    extra = {"email": f"{username}@example.com"}
    if phone:
        extra["phone"] = phone
    created: dict[str, Any] = sign_up(client, username, **extra)
    # As a new user does it: Contact details → confirm each address with its code.
    token = log_in(client, username)
    for kind, to in (("email", extra["email"]), ("phone", phone_e164(phone))):
        if to is None:
            continue
        sent = client.post(f"/api/v1/me/{kind}/send", headers=bearer(token))
        assert sent.status_code == 202, sent.text
        confirmed = client.post(
            f"/api/v1/me/{kind}/confirm",
            headers=bearer(token),
            json={"code": last_code_sent_to(client, to)},
        )
        assert confirmed.status_code == 200, confirmed.text
    client.post("/api/v1/logout", headers=bearer(token))
    return created


def phone_e164(phone: str | None) -> str | None:
    return "+81" + phone.replace("-", "")[1:] if phone else None


def start(client: TestClient, login: str) -> dict[str, Any]:
    response = client.post("/api/v1/recovery", json={"login": login})
    assert response.status_code == 202, response.text
    body: dict[str, Any] = response.json()
    return body


def send(client: TestClient, recovery: str, option: str = "email") -> Response:
    response: Response = client.post(f"/api/v1/recovery/{recovery}/send", json={"option": option})
    return response


def prove(client: TestClient, recovery: str, method: str, **fields: str) -> Response:
    response: Response = client.post(
        f"/api/v1/recovery/{recovery}/proofs", json={"method": method, **fields}
    )
    return response


def prove_by_email(client: TestClient, recovery: str, to: str) -> dict[str, Any]:
    assert send(client, recovery, "email").status_code == 202
    response = prove(client, recovery, "email_code", code=last_code_sent_to(client, to))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def complete(client: TestClient, recovery: str, password: str = NEW_PASSWORD) -> Response:
    response: Response = client.post(
        f"/api/v1/recovery/{recovery}/complete", json={"new_password": password}
    )
    return response


def can_log_in(client: TestClient, login: str, password: str) -> str:
    """ "authenticated", "two_factor_required" or the problem code."""
    response = client.post("/api/v1/login", json={"login": login, "password": password})
    body = response.json()
    return str(body["status"] if response.status_code == 200 else body["code"])


def session_works(client: TestClient, token: str) -> bool:
    response: Response = client.get("/api/v1/me/sessions", headers=bearer(token))
    return response.status_code == 200


__all__ = ["bearer", "log_in"]
