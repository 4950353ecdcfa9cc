"""Signing up with an e-mail or phone another account holds (issue 16, finding 5).

The newcomer must not be able to tell, from anything its own account can read, whether
the address it typed was free or already someone's: both sign-ups keep the address on
the new account, unconfirmed. Only a confirmed address is unique and only a confirmed
address logs in, recovers or receives codes for the account; the confirmation code goes
to the address itself, so only its real owner could ever read it. The owner is told.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.codes.service import mask_destination
from mamori.context import Context
from tests.conftest import bearer, log_in, sign_up
from tests.contact_details.helpers import code_for, confirm, messages_to, stored_user, wrong
from tests.core.helpers import app_client, events, problem, web_log_in

pytestmark = pytest.mark.both_databases

# The newcomers' password: typing hana's address with it must not open hana's account.
THEIRS = "tapioca lantern meadow 42"
HANA = {"email": "hana@example.com", "phone": "090-1234-5678", "e164": "+819012345678"}
FREE = {"email": "fresh@example.com", "phone": "080-5555-0000", "e164": "+818055550000"}
PAGES = (
    "/accounts/center/password-and-security",
    "/accounts/center/password-and-security/contact-details",
)
APIS = (
    "/api/v1/me",
    "/api/v1/me/contact-details",
    "/api/v1/me/security",
    "/api/v1/me/security/checkup",
    "/api/v1/me/alerts",
    "/api/v1/me/emails",
)
# Values that differ between any two accounts, whatever their addresses.
VARYING = re.compile(
    r'"(id|at|created_at|sent_at|signed_in_at|last_seen_at|expires_at|password_changed_at)"'
    r':\s*("[^"]*"|\d+)'
)


def hana_with_confirmed_addresses(client: TestClient) -> str:
    sign_up(client, "hana", email=HANA["email"], phone=HANA["phone"])
    token = log_in(client, "hana")
    for kind, to in (("email", HANA["email"]), ("phone", HANA["e164"])):
        assert client.post(f"/api/v1/me/{kind}/send", headers=bearer(token)).status_code == 202
        assert confirm(client, token, kind, code_for(client, to)).status_code == 200
    return token


def everything_it_reads(ctx: Context, username: str, typed: dict[str, str]) -> list[str]:
    """Every API answer and page the account can open, with its own name, what it typed
    and the values that differ between any two accounts (ids, times, tokens) taken out."""
    with app_client(ctx) as own:
        token = log_in(own, username, THEIRS)
        answers = [own.get(path, headers=bearer(token)).text for path in APIS]
        assert web_log_in(own, username, THEIRS).status_code == 303
        answers += [own.get(page).text for page in PAGES]
    blanks = [
        (mask_destination("email", typed["email"]), "<masked e-mail>"),
        (mask_destination("sms", typed["e164"]), "<masked phone>"),
        (typed["email"], "<e-mail>"),
        (typed["e164"], "<phone>"),
        (typed["phone"], "<phone>"),
        (username, "<username>"),
    ]
    cleaned = []
    for text in answers:
        for value, blank in blanks:
            text = text.replace(value, blank)
        text = VARYING.sub(r'"\1": "…"', text)
        text = re.sub(r'(name="csrf_token" value=")[^"]+', r"\1…", text)
        text = re.sub(r"\d{4}-\d\d-\d\d[T ][\d:.+]+Z?", "<time>", text)
        cleaned.append(text)
    return cleaned


def sign_up_both(client: TestClient) -> dict[str, Any]:
    answers = {}
    for name, typed in (("taken", HANA), ("fresh", FREE)):
        answer = client.post(
            "/api/v1/accounts",
            json={
                "username": name,
                "password": THEIRS,
                "email": typed["email"].upper(),
                "phone": typed["phone"],
            },
        )
        assert answer.status_code == 201, answer.text
        answers[name] = answer.json()
    return answers


def test_a_taken_and_a_free_address_read_back_alike_to_the_new_account(client, ctx):
    hana_with_confirmed_addresses(client)

    answers = sign_up_both(client)

    assert answers["taken"].keys() == answers["fresh"].keys() == {"id", "username"}
    upper = {**HANA, "email": HANA["email"].upper()}
    taken = everything_it_reads(ctx, "taken", upper)
    fresh = everything_it_reads(ctx, "fresh", {**FREE, "email": FREE["email"].upper()})
    for path, seen_taken, seen_fresh in zip(APIS + PAGES, taken, fresh, strict=True):
        assert seen_taken == seen_fresh, path
    me = client.get("/api/v1/me", headers=bearer(log_in(client, "taken", THEIRS))).json()
    assert (me["email"], me["phone"]) == (upper["email"], HANA["e164"])  # as typed
    details = client.get(
        "/api/v1/me/contact-details", headers=bearer(log_in(client, "taken", THEIRS))
    )
    assert details.json()["email_confirmed"] is False
    assert details.json()["phone_confirmed"] is False


def test_the_owner_is_told_once_a_day_and_every_try_is_audited(client, ctx, clock):
    hana_with_confirmed_addresses(client)

    sign_up_both(client)
    sign_up(client, "again", THEIRS, email=HANA["email"], phone=HANA["phone"])

    told = [m["subject"] for m in messages_to(client, HANA["email"])]
    assert told.count("Someone tried to sign up with your e-mail") == 1
    assert told.count("Someone tried to sign up with your phone number") == 1
    hana = stored_user(ctx, "hana")
    tries = [e for e in events(ctx, "account.address_claim_attempted") if e.user_id == hana.id]
    assert sorted((e.details["kind"], e.details["alerted"]) for e in tries) == [
        ("email", False),
        ("email", True),
        ("phone", False),
        ("phone", True),
    ]
    assert not [m for m in messages_to(client, HANA["email"]) if "taken" in m["body"]]
    # Every try is in hana's security alerts, e-mailed or not (a phone-only owner's way).
    listed = client.get("/api/v1/me/alerts", headers=bearer(log_in(client, "hana"))).json()
    titles = [alert["title"] for alert in listed["alerts"]]
    assert titles.count("Someone typed your e-mail or phone number at sign-up") == 4

    clock.advance(hours=25)
    sign_up(client, "next.day", THEIRS, email=HANA["email"])
    told = [m["subject"] for m in messages_to(client, HANA["email"])]
    assert told.count("Someone tried to sign up with your e-mail") == 2


def test_only_the_confirmed_owner_logs_in_or_recovers_by_the_address(client, ctx):
    hana_with_confirmed_addresses(client)
    sign_up_both(client)

    for login in (HANA["email"], HANA["phone"], FREE["email"], FREE["phone"]):
        problem(
            client.post("/api/v1/login", json={"login": login, "password": THEIRS}),
            401,
            "invalid_credentials",
        )  # an address typed but never confirmed opens no account, not even the newcomer's
    for login in (HANA["email"], HANA["phone"]):
        assert log_in(client, login)  # hana's own password: hana's account
    started = client.post("/api/v1/recovery", json={"login": HANA["email"]}).json()
    sent = client.post(f"/api/v1/recovery/{started['recovery']}/send", json={"option": "email"})
    assert sent.status_code == 202
    assert code_for(client, HANA["email"])  # the recovery code went to hana's inbox...
    (recovery_code,) = [
        e for e in events(ctx, "security_code.sent") if e.details["purpose"] == "recovery"
    ]
    assert recovery_code.user_id == stored_user(ctx, "hana").id  # ...for hana's account


def test_the_newcomer_cannot_confirm_an_address_another_account_holds(client, ctx):
    hana_with_confirmed_addresses(client)
    sign_up_both(client)
    token = log_in(client, "taken", THEIRS)

    for kind, to in (("email", HANA["email"].upper()), ("phone", HANA["e164"])):
        assert client.post(f"/api/v1/me/{kind}/send", headers=bearer(token)).status_code == 202
        code = code_for(client, to)  # only hana's inbox or phone can read it
        problem(confirm(client, token, kind, wrong(code)), 400, "invalid_code")
        problem(confirm(client, token, kind, code), 409, "address_in_use")

    hana, taken = stored_user(ctx, "hana"), stored_user(ctx, "taken")
    assert hana.email_confirmed_at is not None and hana.phone_confirmed_at is not None
    assert taken.email_confirmed_at is None and taken.phone_confirmed_at is None
    fresh = log_in(client, "fresh", THEIRS)
    assert client.post("/api/v1/me/email/send", headers=bearer(fresh)).status_code == 202
    confirmed = confirm(client, fresh, "email", code_for(client, FREE["email"].upper()))
    assert confirmed.status_code == 200, confirmed.text
