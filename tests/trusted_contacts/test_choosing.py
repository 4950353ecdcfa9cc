"""The owner chooses 3 to 5 trusted contacts; each contact is told and can decline."""

from __future__ import annotations

import pytest

from mamori.trusted_contacts.models import TrustedContact
from mamori.trusted_contacts.service import active_contact_count
from tests.conftest import PASSWORD, bearer, log_in
from tests.core.helpers import count, events, problem
from tests.trusted_contacts.helpers import ME, OF, choose, people, subjects_to


def test_owner_chooses_three_contacts_and_each_is_told(client, ctx):
    who = people(client, "hana", "ken", "aiko", "yuki")

    chosen = choose(client, who["hana"], "ken", "Aiko", "ｙｕｋｉ")

    assert [c["username"] for c in chosen["contacts"]] == ["ken", "aiko", "yuki"]
    assert {c["status"] for c in chosen["contacts"]} == {"active"}
    assert chosen["active"] == 3 and chosen["available"] is True
    assert (chosen["minimum"], chosen["maximum"], chosen["threshold"]) == (3, 5, 3)
    for contact in ("ken", "aiko", "yuki"):
        assert "hana chose you as a trusted contact" in subjects_to(client, contact)
    assert "Your trusted contacts changed" in subjects_to(client, "hana")
    (event,) = events(ctx, "trusted_contacts.chosen")
    assert event.details["contacts"] == ["ken", "aiko", "yuki"]
    assert client.get(ME, headers=who["hana"]).json() == chosen
    with ctx.database.session() as db:
        assert active_contact_count(db, 1) == 3


def test_choosing_needs_a_recent_reauthentication(client, ctx, clock):
    who = people(client, "hana", "ken", "aiko", "yuki")
    clock.advance(minutes=11)

    answer = client.put(ME, headers=who["hana"], json={"usernames": ["ken", "aiko", "yuki"]})

    problem(answer, 403, "reauthentication_required")
    assert count(ctx, TrustedContact) == 0
    again = client.post(
        "/api/v1/me/reauthenticate", headers=who["hana"], json={"password": PASSWORD}
    )
    assert again.status_code == 204, again.text
    assert choose(client, who["hana"], "ken", "aiko", "yuki")["active"] == 3


@pytest.mark.parametrize(
    ("names", "code"),
    [
        (["ken", "aiko"], "too_few_trusted_contacts"),
        ([], "too_few_trusted_contacts"),
        (["ken", "aiko", "yuki", "mei", "sora", "riku"], "too_many_trusted_contacts"),
        (["ken", "aiko", "KEN"], "duplicate_username"),
        (["ken", "aiko", "hana"], "cannot_choose_yourself"),
        (["ken", "aiko", "nobody"], "unknown_username"),
        (["ken", "aiko", "yu\x00ki"], "unknown_username"),
        (["ken", "aiko", "<script>"], "unknown_username"),
        (["ken", "aiko", "x" * 64], "unknown_username"),
    ],
)
def test_a_bad_list_is_refused_with_a_stable_code_and_nothing_changes(client, ctx, names, code):
    who = people(client, "hana", "ken", "aiko", "yuki", "mei", "sora", "riku")

    answer = client.put(ME, headers=who["hana"], json={"usernames": names})

    problem(answer, 422, code)
    assert count(ctx, TrustedContact) == 0
    assert not events(ctx, "trusted_contacts.chosen")
    assert "hana chose you as a trusted contact" not in subjects_to(client, "ken")


def test_the_problem_names_the_username_at_fault(client):
    who = people(client, "hana", "ken", "aiko")
    body = problem(
        client.put(ME, headers=who["hana"], json={"usernames": ["ken", "aiko", "nobody"]}),
        422,
        "unknown_username",
    )
    assert body["username"] == "nobody"


@pytest.mark.parametrize(
    "body",
    [
        {"usernames": "ken,aiko,yuki"},
        {"usernames": [1, 2, 3]},
        {"usernames": ["ken", "aiko", "y" * 65]},
        {"usernames": ["a"] * 21},
        {},
    ],
)
def test_malformed_bodies_are_invalid_requests(client, ctx, body):
    who = people(client, "hana")
    problem(client.put(ME, headers=who["hana"], json=body), 422, "invalid_request")
    assert count(ctx, TrustedContact) == 0


def test_the_account_cannot_be_its_own_contact_even_by_another_spelling(client, ctx):
    who = people(client, "Hana", "ken", "aiko")
    for me in ("hana", "HANA", "ｈａｎａ", "@hana"):
        answer = client.put(ME, headers=who["Hana"], json={"usernames": ["ken", "aiko", me]})
        problem(answer, 422, "cannot_choose_yourself")
    assert count(ctx, TrustedContact) == 0


def test_a_new_list_replaces_the_old_and_the_dropped_contact_is_told(client):
    who = people(client, "hana", "ken", "aiko", "yuki", "mei")
    choose(client, who["hana"], "ken", "aiko", "yuki")

    chosen = choose(client, who["hana"], "ken", "aiko", "mei")

    assert [c["username"] for c in chosen["contacts"]] == ["ken", "aiko", "mei"]
    assert "You are no longer a trusted contact of hana" in subjects_to(client, "yuki")
    assert subjects_to(client, "ken").count("hana chose you as a trusted contact") == 1


def test_removing_one_needs_reauthentication_and_leaves_too_few_to_help(client, ctx, clock):
    who = people(client, "hana", "ken", "aiko", "yuki")
    choose(client, who["hana"], "ken", "aiko", "yuki")
    clock.advance(minutes=11)
    problem(client.delete(f"{ME}/ken", headers=who["hana"]), 403, "reauthentication_required")

    client.post("/api/v1/me/reauthenticate", headers=who["hana"], json={"password": PASSWORD})
    assert client.delete(f"{ME}/ken", headers=who["hana"]).status_code == 204

    listed = client.get(ME, headers=who["hana"]).json()
    assert [c["username"] for c in listed["contacts"]] == ["aiko", "yuki"]
    assert listed["available"] is False
    assert "A trusted contact was removed" in subjects_to(client, "hana")
    assert "You are no longer a trusted contact of hana" in subjects_to(client, "ken")
    assert events(ctx, "trusted_contacts.removed")[0].details["contact"] == "ken"
    problem(client.delete(f"{ME}/ken", headers=who["hana"]), 404, "trusted_contact_not_found")
    problem(client.delete(f"{ME}/nobody", headers=who["hana"]), 404, "trusted_contact_not_found")


def test_a_contact_sees_who_chose_them_and_declines(client, ctx):
    who = people(client, "hana", "ken", "aiko", "yuki")
    choose(client, who["hana"], "ken", "aiko", "yuki")

    chosen_by = client.get(OF, headers=who["ken"]).json()["chosen_by"]
    assert [c["username"] for c in chosen_by] == ["hana"]
    assert client.delete(f"{OF}/Hana", headers=who["ken"]).status_code == 204

    assert client.get(OF, headers=who["ken"]).json()["chosen_by"] == []
    listed = client.get(ME, headers=who["hana"]).json()
    assert {c["username"]: c["status"] for c in listed["contacts"]}["ken"] == "declined"
    assert listed["active"] == 2 and listed["available"] is False
    assert "ken declined to be your trusted contact" in subjects_to(client, "hana")
    assert events(ctx, "trusted_contacts.declined")[0].details["contact"] == "ken"
    # Declining twice, or declining someone who never chose you: nothing to decline.
    problem(client.delete(f"{OF}/hana", headers=who["ken"]), 404, "trusted_contact_not_found")
    problem(client.delete(f"{OF}/ken", headers=who["aiko"]), 404, "trusted_contact_not_found")


def test_a_declined_contact_cannot_be_chosen_again_until_removed(client):
    who = people(client, "hana", "ken", "aiko", "yuki")
    choose(client, who["hana"], "ken", "aiko", "yuki")
    client.delete(f"{OF}/hana", headers=who["ken"])

    answer = client.put(ME, headers=who["hana"], json={"usernames": ["ken", "aiko", "yuki"]})

    assert problem(answer, 422, "contact_declined")["username"] == "ken"
    assert client.delete(f"{ME}/ken", headers=who["hana"]).status_code == 204
    assert choose(client, who["hana"], "ken", "aiko", "yuki")["active"] == 3


def test_nobody_reads_or_changes_another_owners_list(client):
    who = people(client, "hana", "ken", "aiko", "yuki", "mallory")
    choose(client, who["hana"], "ken", "aiko", "yuki")

    assert client.get(ME, headers=who["mallory"]).json()["contacts"] == []
    problem(client.delete(f"{ME}/ken", headers=who["mallory"]), 404, "trusted_contact_not_found")
    problem(client.delete(f"{OF}/hana", headers=who["mallory"]), 404, "trusted_contact_not_found")
    assert client.get(ME, headers=who["hana"]).json()["active"] == 3
    for method, path in (("get", ME), ("put", ME), ("get", OF), ("delete", f"{OF}/hana")):
        problem(client.request(method, path, json={"usernames": []}), 401, "not_authenticated")


def test_a_disabled_account_is_not_a_contact(client, ctx):
    who = people(client, "hana", "ken", "aiko", "yuki")
    choose(client, who["hana"], "ken", "aiko", "yuki")
    from mamori.accounts.models import User

    with ctx.database.session() as db:
        user = db.query(User).filter_by(username="yuki").one()
        user.disabled_at = ctx.clock.now()
    assert client.get(ME, headers=who["hana"]).json()["active"] == 2
    problem(
        client.put(
            ME, headers=bearer(log_in(client, "hana")), json={"usernames": ["ken", "aiko", "yuki"]}
        ),
        422,
        "unknown_username",
    )
