"""Malformed, oversized and odd input: a clear 4xx problem+json, and nothing stored or sent."""

from __future__ import annotations

import pytest

from mamori.contact_details.models import PendingContactChange
from tests.conftest import bearer
from tests.contact_details.helpers import account, put, stored_user
from tests.core.helpers import count, problem

pytestmark = pytest.mark.both_databases

ODD_EMAILS = [
    "hana\x00@example.com",  # NUL
    "x" * 10_000 + "@example.com",  # 10k characters
    "hana\u202e@example.com",  # right-to-left override: shows one address, is another
    "ha\u200bna@example.com",  # zero-width space
    "hana\u2028@example.com",  # line separator
    "hana\ufeff@example.com",  # byte-order mark
    "hana@example.com\r\nBcc: all@example.com",  # header injection
    "",
    "no at sign",
    "@example.com",
]
ODD_PHONES = [
    "090\x001234\x005678",
    "9" * 10_000,
    "+81 90 1234 5678\u202e",
    "٠٩٠١٢٣٤٥٦٧٨",  # Arabic-Indic digits: not a number mamori can text
    "+1 555 0100 ext. 1",
    "12",
    "",
]
WRONG_TYPES: list[object] = [123, None, [], {}, True, ["hana@example.com"]]


def nothing_changed(client, ctx) -> None:
    user = stored_user(ctx)
    assert (user.email, user.phone) == ("hana@example.com", "+819012345678")
    assert (user.email_confirmed_at, user.phone_confirmed_at) == (None, None)
    assert count(ctx, PendingContactChange) == 0
    assert not [m for m in client.get("/dev/outbox").json() if m["subject"] != ""]
    assert not [m for m in client.get("/dev/outbox").json() if m["channel"] == "sms"]


@pytest.fixture
def hana(client):
    return account(client, email="hana@example.com", phone="090-1234-5678")


@pytest.mark.parametrize("value", ODD_EMAILS + WRONG_TYPES)
def test_odd_e_mail_addresses_are_refused(client, ctx, hana, value):
    answer = put(client, hana, "email", value)

    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] in {"invalid_request", "invalid_email"}
    assert "\x00" not in answer.text
    nothing_changed(client, ctx)


@pytest.mark.parametrize("value", ODD_PHONES + WRONG_TYPES)
def test_odd_phone_numbers_are_refused(client, ctx, hana, value):
    answer = put(client, hana, "phone", value)

    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] in {"invalid_request", "invalid_phone"}
    nothing_changed(client, ctx)


@pytest.mark.parametrize(
    "body",
    [
        b'{"email": "\\ud800@example.com"}',  # a lone surrogate: no such character
        b'{"email": "hana@example.com"',  # cut off
        b"[]",
        b"null",
        b'{"mail": "hana@example.com"}',  # the wrong field
        b"\xff\xfe",
    ],
)
def test_bodies_that_are_not_an_address_are_refused(client, ctx, hana, body):
    answer = client.put(
        "/api/v1/me/email",
        content=body,
        headers={**bearer(hana), "content-type": "application/json"},
    )

    assert 400 <= answer.status_code < 500, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    nothing_changed(client, ctx)


@pytest.mark.parametrize(
    "code", ["\x00\x00\x00\x00\x00\x00", "1" * 10_000, 123456, None, "１２３abc"]
)
def test_odd_codes_are_refused_and_the_address_stays_unconfirmed(client, ctx, hana, code):
    assert put(client, hana, "email", "hana@example.com").status_code == 202

    answer = client.post("/api/v1/me/email/confirm", headers=bearer(hana), json={"code": code})

    assert answer.status_code in {400, 422}, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert stored_user(ctx).email_confirmed_at is None


def test_an_international_address_in_any_script_is_fine(client, ctx, hana):
    answer = put(client, hana, "email", "はな@例え.jp")

    assert answer.status_code == 202, answer.text
    assert answer.json() == {"sent_to": "はな@例え.jp"}
    problem(put(client, hana, "email", "はな\u200d@例え.jp"), 422, "invalid_email")
