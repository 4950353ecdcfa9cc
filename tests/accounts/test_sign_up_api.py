"""POST /api/v1/accounts: what an app sees when a person creates an account."""

from __future__ import annotations

from mamori.accounts.models import User
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.contact_details.helpers import confirm_addresses
from tests.core.helpers import count, events, problem


def test_a_new_account_answers_201_with_its_id_and_username(client):
    response = client.post("/api/v1/accounts", json={"username": "hana", "password": PASSWORD})

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "username"}
    assert body["username"] == "hana"
    assert isinstance(body["id"], int)
    me = client.get("/api/v1/me", headers=bearer(log_in(client)))
    assert me.json()["id"] == body["id"]


def test_e_mail_and_phone_are_kept_phone_in_e164(client):
    sign_up(client, email="Hana.Sato@Example.com", phone="090-1234-5678")

    me = client.get("/api/v1/me", headers=bearer(log_in(client))).json()

    assert me == {
        "id": me["id"],
        "username": "hana",
        "email": "Hana.Sato@Example.com",
        "phone": "+819012345678",
    }


def test_full_width_username_is_stored_half_width(client):
    created = sign_up(client, "ｈａｎａ＿１")

    assert created["username"] == "hana_1"
    assert log_in(client, "hana_1")


def test_a_username_is_one_account_whatever_its_case(client):
    sign_up(client, "Hana")

    again = client.post("/api/v1/accounts", json={"username": "hANA", "password": PASSWORD})

    problem(again, 409, "username_taken")
    assert log_in(client, "hana")


def test_a_username_that_reads_as_a_phone_number_is_refused(client, ctx):
    """Otherwise someone could take "09012345678" and shadow that number at login."""
    for username in ("09012345678", "090.1234.5678"):
        response = client.post(
            "/api/v1/accounts", json={"username": username, "password": PASSWORD}
        )
        problem(response, 422, "username_reserved")
    assert count(ctx, User) == 0
    assert sign_up(client, "hana090")["username"] == "hana090"


def test_invalid_usernames_e_mails_and_phones_are_422_and_nothing_is_stored(client, ctx):
    cases = [
        ({"username": "hana sato"}, "invalid_username"),
        ({"username": "..."}, "invalid_username"),
        ({"username": "はな"}, "invalid_username"),
        ({"username": "hana", "email": "not-an-address"}, "invalid_email"),
        ({"username": "hana", "email": "hana@localhost"}, "invalid_email"),
        ({"username": "hana", "phone": "12"}, "invalid_phone"),
        ({"username": "hana", "phone": "call me"}, "invalid_phone"),
    ]
    for fields, code in cases:
        response = client.post("/api/v1/accounts", json={"password": PASSWORD, **fields})
        problem(response, 422, code)

    assert count(ctx, User) == 0
    assert events(ctx, "account.signed_up") == []


def test_sign_up_with_a_registered_e_mail_looks_like_any_sign_up(client, ctx):
    """No enumeration: 201 as always; the newcomer holds the address unconfirmed, as it
    would a free one, while it stays its owner's to log in with; the owner is told.
    (tests/accounts/test_sign_up_with_a_taken_address.py compares everything readable.)"""
    sign_up(client, "hana", email="hana@example.com")
    confirm_addresses(client, log_in(client, "hana"), email="hana@example.com")

    response = client.post(
        "/api/v1/accounts",
        json={"username": "mallory", "password": PASSWORD, "email": "HANA@example.com"},
    )

    assert response.status_code == 201
    assert set(response.json()) == {"id", "username"}
    mallory = client.get("/api/v1/me", headers=bearer(log_in(client, "mallory"))).json()
    assert mallory["email"] == "HANA@example.com"
    # The e-mail still logs in to its owner's account, not the newcomer's.
    hana = client.get("/api/v1/me", headers=bearer(log_in(client, "hana@example.com"))).json()
    assert hana["username"] == "hana"
    alert = client.get("/dev/outbox").json()[0]
    assert alert["to"] == "hana@example.com"
    assert alert["subject"] == "Someone tried to sign up with your e-mail"
    assert PASSWORD not in alert["body"]


def test_sign_up_with_a_registered_phone_leaves_the_number_with_its_owner(client):
    sign_up(client, "hana", email="hana@example.com", phone="090-1234-5678")
    confirm_addresses(client, log_in(client, "hana"), phone="+819012345678")

    sign_up(client, "mallory", phone="+81 90 1234 5678")

    mallory = client.get("/api/v1/me", headers=bearer(log_in(client, "mallory"))).json()
    assert mallory["phone"] == "+819012345678"  # held unconfirmed, as any number typed
    hana = client.get("/api/v1/me", headers=bearer(log_in(client, "09012345678"))).json()
    assert hana["username"] == "hana"
    alert = client.get("/dev/outbox").json()[0]
    assert (alert["to"], alert["subject"]) == (
        "hana@example.com",
        "Someone tried to sign up with your phone number",
    )


def test_sign_up_is_in_the_audit_log_without_the_password(client, ctx):
    response = client.post(
        "/api/v1/accounts",
        json={"username": "hana", "password": PASSWORD},
        headers={"User-Agent": "MamoriApp/1.0 (iPhone)"},
    )

    [event] = events(ctx, "account.signed_up")
    assert event.user_id == response.json()["id"]
    assert event.ip == "testclient"
    assert event.user_agent == "MamoriApp/1.0 (iPhone)"
    assert PASSWORD not in str(event.details)


def test_me_without_a_token_is_401_and_says_a_bearer_token_would_do(client):
    for headers in ({}, bearer("not-a-token"), {"Authorization": "Basic aGFuYTpwYXNz"}):
        response = client.get("/api/v1/me", headers=headers)
        problem(response, 401, "not_authenticated")
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
