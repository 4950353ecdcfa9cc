"""Who may change what: reauthentication, no enumeration, only one's own account."""

from __future__ import annotations

import pytest

from mamori.contact_details.models import PendingContactChange
from tests.conftest import PASSWORD, bearer, log_in
from tests.contact_details.helpers import (
    account,
    code_for,
    confirm,
    details,
    messages_to,
    put,
    remove,
    stored_user,
    wrong,
)
from tests.core.helpers import count, events, problem

pytestmark = pytest.mark.both_databases

TAKEN = {"email": "kenji@example.com", "phone": "+818011112222"}
FREE = {"email": "nobody@example.com", "phone": "+817033334444"}


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("PUT", "/api/v1/me/email", {"email": "new@example.com"}),
        ("DELETE", "/api/v1/me/email", None),
        ("PUT", "/api/v1/me/phone", {"phone": "080-1111-2222"}),
        ("DELETE", "/api/v1/me/phone", None),
    ],
)
def test_adding_changing_and_removing_need_a_recent_reauthentication(
    client, ctx, clock, method, path, body
):
    token = account(client, email="hana@example.com", phone="090-1234-5678")
    clock.advance(minutes=11)
    before = len(client.get("/dev/outbox").json())

    answer = client.request(method, path, headers=bearer(token), json=body)

    problem(answer, 403, "reauthentication_required")
    user = stored_user(ctx)
    assert (user.email, user.phone) == ("hana@example.com", "+819012345678")
    assert count(ctx, PendingContactChange) == 0
    assert len(client.get("/dev/outbox").json()) == before  # no code, no alert

    proved = client.post(
        "/api/v1/me/reauthenticate", headers=bearer(token), json={"password": PASSWORD}
    )
    assert proved.status_code == 204
    assert client.request(method, path, headers=bearer(token), json=body).status_code in {
        202,
        204,
    }


def test_a_code_asked_for_in_the_window_can_be_typed_after_it(client, ctx, clock):
    token = account(client)
    clock.advance(minutes=5)
    assert put(client, token, "email", "new@example.com").status_code == 202
    clock.advance(minutes=6)  # the 10-minute window has ended; the 10-minute code lives on
    problem(put(client, token, "email", "other@example.com"), 403, "reauthentication_required")

    assert confirm(client, token, "email", code_for(client, "new@example.com")).status_code == 200


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_another_accounts_address_answers_alike_until_the_code_proves_control(
    client, ctx, clock, kind
):
    kenji = account(client, "kenji", email=TAKEN["email"], phone="080-1111-2222")
    for owned in ("email", "phone"):  # kenji proved both are his
        put(client, kenji, owned, TAKEN[owned])
        assert confirm(client, kenji, owned, code_for(client, TAKEN[owned])).status_code == 200
    token = account(client, email="hana@example.com", phone="090-1234-5678")

    taken = put(client, token, kind, TAKEN[kind])
    free = put(client, token, kind, FREE[kind])

    # Same status, same shape, each told only the address it typed back.
    assert (taken.status_code, free.status_code) == (202, 202)
    assert taken.json() == {"sent_to": TAKEN[kind]}
    assert free.json() == {"sent_to": FREE[kind]}
    assert messages_to(client, TAKEN[kind])[0]["body"].count("mamori") >= 1

    clock.advance(seconds=31)  # the wait between two codes to one address
    assert put(client, token, kind, TAKEN[kind]).status_code == 202
    code = code_for(client, TAKEN[kind])
    problem(confirm(client, token, kind, wrong(code)), 400, "invalid_code")
    problem(confirm(client, token, kind, code), 409, "address_in_use")

    hana, kenjis = stored_user(ctx, "hana"), stored_user(ctx, "kenji")
    assert (hana.email, hana.phone) == ("hana@example.com", "+819012345678")
    assert (kenjis.email, kenjis.phone) == (TAKEN["email"], TAKEN["phone"])
    assert details(client, token)[f"pending_{kind}"] is None
    refused = events(ctx, f"contact.{kind}_change_refused")
    assert [(e.outcome, e.details["reason"]) for e in refused] == [("failure", "address_in_use")]


@pytest.mark.parametrize("kind", ["email", "phone"])
def test_an_address_another_account_holds_unconfirmed_goes_to_whoever_proves_it(client, ctx, kind):
    """Typing someone else's address at sign-up must not keep its owner from it, and the
    typist is not told when the owner proves it (that would say whose it is)."""
    account(client, "squatter", email=TAKEN["email"], phone=TAKEN["phone"])
    token = account(client, "kenji")
    put(client, token, kind, TAKEN[kind])

    claimed = confirm(client, token, kind, code_for(client, TAKEN[kind]))

    assert claimed.status_code == 200, claimed.text
    assert (claimed.json()[kind], claimed.json()[f"{kind}_confirmed"]) == (TAKEN[kind], True)
    squatter = stored_user(ctx, "squatter")
    assert getattr(squatter, kind) == TAKEN[kind]  # left as it was: unconfirmed
    assert getattr(squatter, f"{kind}_confirmed_at") is None
    assert not [
        e for e in events(ctx) if e.user_id == squatter.id and e.event.startswith("contact")
    ]
    # Nothing about the squatter's account reaches the address's owner.
    assert not [m for m in messages_to(client, TAKEN[kind]) if "squatter" in m["body"]]
    # And the squatter's code goes to the owner's address: it can never confirm it.
    squatter_token = log_in(client, "squatter")
    sent = client.post(f"/api/v1/me/{kind}/send", headers=bearer(squatter_token))
    assert sent.status_code == 202
    problem(
        confirm(client, squatter_token, kind, code_for(client, TAKEN[kind])), 409, "address_in_use"
    )


def test_an_address_is_compared_without_case(client, ctx):
    kenji = account(client, "kenji", email="kenji@example.com")
    put(client, kenji, "email", "kenji@example.com")
    confirm(client, kenji, "email", code_for(client, "kenji@example.com"))
    token = account(client)

    put(client, token, "email", "KENJI@Example.COM")

    problem(
        confirm(client, token, "email", code_for(client, "KENJI@Example.COM")),
        409,
        "address_in_use",
    )
    assert stored_user(ctx, "hana").email is None


def test_another_users_token_cannot_touch_the_change(client, ctx):
    hana = account(client, email="hana@example.com")
    kenji = account(client, "kenji", email="kenji@example.com")
    put(client, hana, "email", "new@example.com")
    hanas_code = code_for(client, "new@example.com")

    problem(confirm(client, kenji, "email", hanas_code), 409, "no_pending_change")
    put(client, kenji, "email", "new@example.com")  # even for the very same address
    problem(confirm(client, kenji, "email", hanas_code), 400, "invalid_code")
    assert details(client, kenji)["email"] == "kenji@example.com"
    assert details(client, kenji)["pending_email"] == "new@example.com"
    assert remove(client, kenji, "email").status_code == 204

    assert details(client, hana)["email"] == "hana@example.com"
    assert details(client, hana)["pending_email"] == "new@example.com"
    assert confirm(client, hana, "email", hanas_code).status_code == 200
    assert stored_user(ctx, "hana").email == "new@example.com"
    assert stored_user(ctx, "kenji").email is None


def test_every_route_needs_a_token(client):
    for method, path in [
        ("GET", "/api/v1/me/contact-details"),
        ("PUT", "/api/v1/me/email"),
        ("POST", "/api/v1/me/email/send"),
        ("POST", "/api/v1/me/email/confirm"),
        ("DELETE", "/api/v1/me/email"),
        ("PUT", "/api/v1/me/phone"),
        ("POST", "/api/v1/me/phone/send"),
        ("POST", "/api/v1/me/phone/confirm"),
        ("DELETE", "/api/v1/me/phone"),
    ]:
        problem(client.request(method, path, json={}), 401, "not_authenticated")


def test_confirming_an_address_already_confirmed_is_refused(client, ctx):
    token = account(client, email="hana@example.com")
    put(client, token, "email", "hana@example.com")
    confirm(client, token, "email", code_for(client, "hana@example.com"))

    problem(put(client, token, "email", "HANA@example.com"), 409, "already_confirmed")


def test_one_account_cannot_spray_codes_at_many_addresses(client, ctx, clock):
    token = account(client)
    for number in range(10):
        assert put(client, token, "email", f"someone{number}@example.com").status_code == 202

    problem(put(client, token, "email", "someone10@example.com"), 429, "too_many_attempts")
    assert not messages_to(client, "someone10@example.com")
