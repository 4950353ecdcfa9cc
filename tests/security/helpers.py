"""Helpers for security-center tests: prepared accounts, links from alert e-mails."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.context import Context
from tests.conftest import PASSWORD, bearer

SECURITY = "/accounts/center/password-and-security"
CHECKUP = f"{SECURITY}/checkup"
ALERTS = f"{SECURITY}/alerts"
EMAILS = f"{SECURITY}/emails"
SESSIONS = f"{SECURITY}/sessions"
WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
ANDROID_APP = "okhttp/4.12.0"
LINK = re.compile(r"http://localhost(/accounts/wasnt-me/[0-9A-Za-z_.-]+)")


def api_log_in(
    client: TestClient, user_agent: str = ANDROID_APP, login: str = "hana", password: str = PASSWORD
) -> str:
    response = client.post(
        "/api/v1/login",
        json={"login": login, "password": password},
        headers={"User-Agent": user_agent},
    )
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "authenticated"
    return str(response.json()["token"])


def mails_to(client: TestClient, to: str) -> list[dict[str, str]]:
    """Messages sent to `to`, newest first (the development outbox)."""
    return [m for m in client.get("/dev/outbox").json() if m["to"] == to]


def subjects_to(client: TestClient, to: str) -> list[str]:
    return [m["subject"] for m in mails_to(client, to)]


def wasnt_me_link(client: TestClient, to: str, subject: str) -> str:
    """The "This wasn't me" path from the newest alert with this subject."""
    for mail in mails_to(client, to):
        if mail["subject"] == subject:
            found = LINK.search(mail["body"])
            assert found, mail["body"]
            return found.group(1)
    raise AssertionError(f"no alert {subject!r} to {to}")


def alert_events(client: TestClient, token: str) -> list[str]:
    response = client.get("/api/v1/me/alerts", headers=bearer(token))
    assert response.status_code == 200, response.text
    return [a["event"] for a in response.json()["alerts"]]


def confirm_contacts(ctx: Context, username: str = "hana") -> None:
    """Contact details confirmed, as the contact-details feature does it."""
    with ctx.database.session() as db:
        user = db.scalar(select(User).where(User.username == username))
        assert user is not None
        user.email = user.email or f"{username}@example.com"
        user.phone = user.phone or "+819012345678"
        user.email_confirmed_at = ctx.clock.now()
        user.phone_confirmed_at = ctx.clock.now()
