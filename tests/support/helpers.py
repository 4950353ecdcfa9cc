"""Helpers for support-case tests: accounts, operators, evidence files, the outbox."""

from __future__ import annotations

import base64
import re
import secrets
from typing import Any

from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.sessions.service import start_session
from mamori.sign_up.service import sign_up
from mamori.support import service
from tests.conftest import PASSWORD

ORIGIN = Origin(ip="203.0.113.9", user_agent="pytest")
CASES = "/api/v1/recovery/support-cases"
PAGE = "/recovery/support"
CONTACT = "new.inbox@example.net"
STORY = "I lost my phone on a train in Osaka on Monday and my backup codes were in it."
# Words that must never be readable outside a seal.
SECRET_WORDS = "passport number TZ4471928"
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\x1dtEXtComment\x00" + SECRET_WORDS.encode() + b"\x00" * 8
)
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"driving licence 88-1234-5678" + b"\xff\xd9"
PDF = b"%PDF-1.4\n1 0 obj << /Title (utility bill for flat 302) >> endobj\n%%EOF\n"
REFERENCE = re.compile(r"[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def evidence(filename: str, data: bytes, content_type: str = "image/png") -> dict[str, str]:
    return {"filename": filename, "content_type": content_type, "data_base64": b64(data)}


def case_body(
    login: str = "hana",
    contact: str = CONTACT,
    what: str = STORY,
    files: list[dict[str, str]] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"login": login, "contact_email": contact, "what_happened": what}
    if files is not None:
        body["evidence"] = files
    return body


def open_case(client: TestClient, **kwargs: Any) -> Response:
    response: Response = client.post(CASES, json=case_body(**kwargs))
    return response


def opened_reference(response: Response) -> str:
    assert response.status_code == 202, response.text
    reference = str(response.json()["reference"])
    assert REFERENCE.fullmatch(reference)
    return reference


def make_user(
    ctx: Context, username: str = "hana", *, email: str | None = None, locale: str = "en"
) -> int:
    with ctx.database.session() as db:
        user = sign_up(
            db,
            ctx,
            ORIGIN,
            username=username,
            password=PASSWORD,
            email=email or f"{username}@example.com",
            locale=locale,
        )
        return user.id


def make_operator(ctx: Context, username: str = "sora") -> int:
    user_id = make_user(ctx, username)
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        assert user is not None
        service.grant_operator(db, ctx, ORIGIN, user, granted_by="test")
    return user_id


def operator(db: Session, user_id: int) -> User:
    user = db.get(User, user_id)
    assert user is not None
    return user


def approve(ctx: Context, reference: str, operator_id: int, note: str | None = None) -> None:
    with ctx.database.session() as db:
        service.approve_case(
            db, ctx, ORIGIN, reference, operator=operator(db, operator_id), note=note
        )


def deny(ctx: Context, reference: str, operator_id: int, reason: str = "not the owner") -> None:
    with ctx.database.session() as db:
        service.deny_case(
            db, ctx, ORIGIN, reference, operator=operator(db, operator_id), reason=reason
        )


def log_in_browser(client: TestClient, ctx: Context, user_id: int) -> str:
    """A fresh web session (it counts as just reauthenticated); returns a CSRF token."""
    with ctx.database.session() as db:
        new = start_session(db, ctx.clock, ctx.settings, ORIGIN, user_id, "web")
    csrf = secrets.token_urlsafe(32)
    client.cookies.set("mamori_session", new.token)
    client.cookies.set("mamori_csrf", csrf)
    return csrf


def outbox(client: TestClient, to: str | None = None) -> list[dict[str, Any]]:
    """Delivered messages, newest first (GET /dev/outbox), optionally only to `to`."""
    messages: list[dict[str, Any]] = client.get("/dev/outbox").json()
    return [m for m in messages if to is None or m["to"] == to]


def write_secrets(ctx: Context) -> None:
    """The CLI reads the secrets file, as the server does: give it the test's keyring."""
    path = ctx.settings.resolved_secrets_file
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(ctx.keyring.to_json())
