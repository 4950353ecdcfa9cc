"""Helpers for trusted-contact tests: people with accounts, a recovery, the outbox."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from mamori.audit.service import Origin
from mamori.context import Context
from mamori.recovery import service as recovery
from tests.conftest import bearer, log_in, sign_up

ORIGIN = Origin(ip="198.51.100.9", user_agent="pytest")
ME = "/api/v1/me/trusted-contacts"
OF = "/api/v1/me/trusted-contact-of"
REQUESTS = "/api/v1/me/trusted-contact-requests"
PAGE = "/accounts/center/password-and-security/trusted-contacts"


def people(client: TestClient, *names: str) -> dict[str, dict[str, str]]:
    """Sign each up (with an e-mail) and log in: {name: headers}."""
    found = {}
    for name in names:
        sign_up(client, name, email=f"{name}@example.com")
        found[name] = bearer(log_in(client, name))
    return found


def choose(client: TestClient, headers: dict[str, str], *names: str) -> Any:
    response = client.put(ME, headers=headers, json={"usernames": list(names)})
    assert response.status_code == 200, response.text
    return response.json()


def start_recovery(ctx: Context, login: str) -> str:
    """A "Can't log in?" attempt, as the lead's recovery start makes one: its token."""
    with ctx.database.session() as db:
        return recovery.start_recovery(db, ctx, ORIGIN, login=login).token


def proofs(ctx: Context, token: str) -> list[str]:
    with ctx.database.session() as db:
        return recovery.recovery_status(db, ctx, token).proofs


def ask(client: TestClient, token: str, *names: str) -> Any:
    response = client.post(
        f"/api/v1/recovery/{token}/trusted-contacts", json={"usernames": list(names)}
    )
    assert response.status_code == 202, response.text
    return response.json()


def enter(client: TestClient, token: str, code: str) -> Any:
    return client.post(f"/api/v1/recovery/{token}/trusted-contacts/codes", json={"code": code})


def my_requests(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    response = client.get(REQUESTS, headers=headers)
    assert response.status_code == 200, response.text
    requests: list[dict[str, Any]] = response.json()["requests"]
    return requests


def code_from(client: TestClient, headers: dict[str, str], request_id: str | None = None) -> str:
    """What a contact reads out: their (only, or named) request's code."""
    if request_id is None:
        (only,) = my_requests(client, headers)
        request_id = only["id"]
    response = client.post(f"{REQUESTS}/{request_id}/code", headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    code: str = response.json()["code"]
    return code


def mail_to(client: TestClient, name: str) -> list[dict[str, Any]]:
    """Messages e-mailed to this person, newest first."""
    messages: list[dict[str, Any]] = client.get("/dev/outbox").json()
    return [m for m in messages if m["to"] == f"{name}@example.com"]


def subjects_to(client: TestClient, name: str) -> list[str]:
    return [m["subject"] for m in mail_to(client, name)]
