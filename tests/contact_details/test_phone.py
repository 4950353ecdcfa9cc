"""The phone number: confirm it, change it, remove it (API). Any notation, stored E.164."""

from __future__ import annotations

from mamori.two_factor.models import PhoneMethod
from tests.conftest import bearer
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

OLD = "+819012345678"
NEW = "+818011112222"


def test_the_number_given_at_sign_up_is_confirmed_by_a_texted_code(client, ctx, clock):
    token = account(client, phone="090-1234-5678")
    assert details(client, token)["phone"] == OLD
    assert details(client, token)["phone_confirmed"] is False

    clock.advance(minutes=30)
    sent = put(client, token, "phone", "＋８１ ９０ １２３４ ５６７８")  # full-width, same number
    assert sent.status_code == 202, sent.text
    assert sent.json() == {"sent_to": OLD}
    text = messages_to(client, OLD)[0]
    confirmed = confirm(client, token, "phone", code_for(client, OLD))

    assert text["channel"] == "sms"
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["phone_confirmed"] is True
    assert stored_user(ctx).phone_confirmed_at == clock.now()
    assert len(events(ctx, "contact.phone_confirmed")) == 1


def test_a_new_number_counts_only_once_confirmed_and_the_old_one_gets_a_text(client, ctx):
    token = account(client, phone="090-1234-5678", email="hana@example.com")
    put(client, token, "phone", OLD)
    confirm(client, token, "phone", code_for(client, OLD))

    sent = put(client, token, "phone", "080-1111-2222")
    assert sent.json() == {"sent_to": NEW}
    waiting = details(client, token)
    assert (waiting["phone"], waiting["phone_confirmed"], waiting["pending_phone"]) == (
        OLD,
        True,
        NEW,
    )
    assert stored_user(ctx).phone == OLD

    code = code_for(client, NEW)
    changed = confirm(client, token, "phone", code)

    assert changed.status_code == 200, changed.text
    assert (changed.json()["phone"], changed.json()["phone_confirmed"]) == (NEW, True)
    old_text = messages_to(client, OLD)[0]
    assert old_text["channel"] == "sms"
    assert "removed from your account" in old_text["body"]
    assert "hana" not in old_text["body"]  # an old number may be someone else's by now
    assert code not in old_text["body"]
    assert messages_to(client, "hana@example.com")[0]["subject"] == "Your phone number was changed"
    assert len(events(ctx, "contact.phone_changed")) == 1
    # The two-factor number is another thing and is left alone.
    assert count(ctx, PhoneMethod) == 0


def test_a_code_texted_to_one_number_never_confirms_another(client, ctx):
    token = account(client, phone="090-1234-5678")
    put(client, token, "phone", "080-1111-2222")
    first = code_for(client, NEW)
    put(client, token, "phone", "070-3333-4444")

    problem(confirm(client, token, "phone", first), 400, "invalid_code")

    assert details(client, token)["phone"] == OLD
    assert details(client, token)["pending_phone"] == "+817033334444"


def test_a_wrong_code_is_400_and_an_expired_one_410(client, ctx, clock):
    token = account(client)
    put(client, token, "phone", "080-1111-2222")
    code = code_for(client, NEW)

    problem(confirm(client, token, "phone", wrong(code)), 400, "invalid_code")
    clock.advance(minutes=11)
    problem(confirm(client, token, "phone", code), 410, "challenge_expired")

    assert details(client, token)["phone"] is None


def test_adding_a_number_tells_the_e_mail(client, ctx):
    token = account(client, email="hana@example.com")
    put(client, token, "phone", "080-1111-2222")

    assert confirm(client, token, "phone", code_for(client, NEW)).status_code == 200

    assert messages_to(client, "hana@example.com")[0]["subject"] == "A phone number was added"


def test_removing_the_number_texts_it_and_tells_the_e_mail(client, ctx):
    token = account(client, phone="090-1234-5678", email="hana@example.com")

    assert remove(client, token, "phone").status_code == 204

    user = stored_user(ctx)
    assert (user.phone, user.phone_confirmed_at) == (None, None)
    assert messages_to(client, OLD)[0]["channel"] == "sms"
    assert messages_to(client, "hana@example.com")[0]["subject"] == "Your phone number was removed"
    assert len(events(ctx, "contact.phone_removed")) == 1
    assert (
        client.get("/api/v1/me/security", headers=bearer(token)).json()["recovery"]["phone"] is None
    )
