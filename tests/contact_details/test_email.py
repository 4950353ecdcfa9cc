"""The e-mail address: confirm it, change it, remove it (API)."""

from __future__ import annotations

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


def test_the_address_given_at_sign_up_is_confirmed_with_the_code_sent_to_it(client, ctx, clock):
    token = account(client, email="hana@example.com")
    assert details(client, token) == {
        "email": "hana@example.com",
        "email_confirmed": False,
        "phone": None,
        "phone_confirmed": False,
        "pending_email": None,
        "pending_phone": None,
    }

    clock.advance(minutes=30)  # confirming what is already there needs no fresh password
    sent = put(client, token, "email", "hana@example.com")
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"sent_to": "hana@example.com"}
    confirmed = confirm(client, token, "email", code_for(client, "hana@example.com"))

    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["email_confirmed"] is True
    assert stored_user(ctx).email_confirmed_at == clock.now()
    assert [e.event for e in events(ctx, "contact.email_confirmed")] == ["contact.email_confirmed"]
    assert count(ctx, PendingContactChange) == 0
    # The lead's recovery reads exactly this: the security overview agrees.
    overview = client.get("/api/v1/me/security", headers=bearer(token)).json()
    assert overview["recovery"]["email_confirmed"] is True


def test_the_send_route_also_confirms_the_address_given_at_sign_up(client, ctx):
    token = account(client, email="hana@example.com")

    sent = client.post("/api/v1/me/email/send", headers=bearer(token))

    assert sent.status_code == 202, sent.text
    assert sent.json() == {"sent_to": "hana@example.com"}
    assert confirm(client, token, "email", code_for(client, "hana@example.com")).status_code == 200
    assert details(client, token)["email_confirmed"] is True
    again = client.post("/api/v1/me/email/send", headers=bearer(token))
    problem(again, 409, "already_confirmed")


def test_a_new_address_counts_only_once_its_code_comes_back_and_the_old_one_is_told(
    client, ctx, clock
):
    token = account(client, email="hana@example.com")
    put(client, token, "email", "hana@example.com")
    confirm(client, token, "email", code_for(client, "hana@example.com"))

    sent = put(client, token, "email", "Hana.Sato@Example.org")
    assert sent.status_code == 202, sent.text

    waiting = details(client, token)
    assert waiting["email"] == "hana@example.com"  # the old one is still the account's
    assert waiting["email_confirmed"] is True
    assert waiting["pending_email"] == "Hana.Sato@Example.org"
    assert stored_user(ctx).email == "hana@example.com"
    # Not usable to log in before it is confirmed.
    login = client.post(
        "/api/v1/login",
        json={"login": "Hana.Sato@Example.org", "password": PASSWORD},
    )
    problem(login, 401, "invalid_credentials")

    code = code_for(client, "Hana.Sato@Example.org")
    changed = confirm(client, token, "email", code)
    assert changed.status_code == 200, changed.text
    assert changed.json()["email"] == "Hana.Sato@Example.org"
    assert changed.json()["email_confirmed"] is True
    assert changed.json()["pending_email"] is None

    alert = messages_to(client, "hana@example.com")[0]
    assert alert["subject"] == "Your e-mail address was changed"
    assert "H•••o@E•••.org" in alert["body"]
    assert code not in alert["body"]
    assert not [
        m for m in messages_to(client, "Hana.Sato@Example.org") if "changed" in m["subject"]
    ]
    assert [e.event for e in events(ctx, "contact.email_changed")] == ["contact.email_changed"]
    assert log_in(client, "hana.sato@example.org")  # any case, as at sign-up
    again = confirm(client, token, "email", code)
    problem(again, 409, "no_pending_change")


def test_a_code_sent_to_one_address_never_confirms_another(client, ctx):
    token = account(client, email="hana@example.com")
    put(client, token, "email", "first@example.com")
    code_for_first = code_for(client, "first@example.com")
    put(client, token, "email", "second@example.com")

    answer = confirm(client, token, "email", code_for_first)

    problem(answer, 400, "invalid_code")
    shown = details(client, token)
    assert shown["email"] == "hana@example.com"
    assert shown["pending_email"] == "second@example.com"
    assert stored_user(ctx).email_key == "hana@example.com"


def test_a_wrong_code_is_400_and_an_expired_one_410(client, ctx, clock):
    token = account(client, email="hana@example.com")
    put(client, token, "email", "new@example.com")
    code = code_for(client, "new@example.com")

    body = problem(confirm(client, token, "email", wrong(code)), 400, "invalid_code")
    assert body["attempts_left"] == 4
    clock.advance(minutes=11)
    problem(confirm(client, token, "email", code), 410, "challenge_expired")

    assert details(client, token)["email"] == "hana@example.com"
    assert stored_user(ctx).email_confirmed_at is None


def test_an_address_can_be_added_to_an_account_without_one(client, ctx):
    token = account(client)

    put(client, token, "email", "hana@example.com")
    added = confirm(client, token, "email", code_for(client, "hana@example.com"))

    assert added.status_code == 200
    assert added.json()["email"] == "hana@example.com"
    assert added.json()["email_confirmed"] is True
    assert events(ctx, "contact.email_changed")[0].details["added"] is True


def test_removing_the_address_tells_it_first_and_it_is_gone(client, ctx):
    token = account(client, email="hana@example.com")
    put(client, token, "email", "hana@example.com")
    confirm(client, token, "email", code_for(client, "hana@example.com"))
    put(client, token, "email", "pending@example.com")

    removed = remove(client, token, "email")

    assert removed.status_code == 204, removed.text
    assert details(client, token)["email"] is None
    assert details(client, token)["pending_email"] is None
    user = stored_user(ctx)
    assert (user.email, user.email_key, user.email_confirmed_at) == (None, None, None)
    assert (
        messages_to(client, "hana@example.com")[0]["subject"] == "Your e-mail address was removed"
    )
    assert [e.event for e in events(ctx, "contact.email_removed")] == ["contact.email_removed"]
    # Nothing left: removing again changes nothing and says so quietly.
    assert remove(client, token, "email").status_code == 204
    assert len(events(ctx, "contact.email_removed")) == 1


def test_sends_are_capped_per_address(client, ctx, clock):
    token = account(client, email="hana@example.com")
    for _ in range(5):
        assert put(client, token, "email", "new@example.com").status_code == 202
        clock.advance(seconds=31)

    problem(put(client, token, "email", "new@example.com"), 429, "too_many_attempts")
