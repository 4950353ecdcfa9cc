"""The passkey API: add, list, rename, remove; log in with a passkey alone."""

from __future__ import annotations

import pytest
from sqlalchemy import text
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url

from mamori.passkeys.models import Passkey, PasskeyUserHandle
from tests.backup_codes.helpers import subjects
from tests.conftest import bearer
from tests.core.helpers import clock_of, csrf_from, events, problem
from tests.passkeys.authenticator import GOOGLE_PASSWORD_MANAGER, SoftAuthenticator
from tests.passkeys.helpers import ME, account, add_passkey, login_options, passkey_login
from tests.security.helpers import wasnt_me_link


def test_a_passkey_added_is_listed_and_its_owner_told(client, ctx):
    token = account(client)

    added = add_passkey(
        client, token, SoftAuthenticator(aaguid=GOOGLE_PASSWORD_MANAGER, synced=True)
    )

    assert added.status_code == 201, added.text
    listed = client.get(ME, headers=bearer(token)).json()
    assert listed["limit"] == 10
    [passkey] = listed["passkeys"]
    assert passkey["id"] == added.json()["id"]
    assert passkey["name"] == "Google Password Manager"
    assert passkey["backed_up"] is True
    assert passkey["last_used_at"] is None
    assert passkey["created_at"]
    assert [e.details["name"] for e in events(ctx, "passkey.added")] == ["Google Password Manager"]
    assert "A passkey was added" in subjects(ctx, "hana@example.com")


def test_a_passkey_alone_logs_in_and_is_marked_used(client):
    token = account(client)
    phone = SoftAuthenticator()
    add_passkey(client, token, phone)

    answer = passkey_login(client, phone)

    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "authenticated"
    new_token = answer.json()["token"]
    [passkey] = client.get(ME, headers=bearer(new_token)).json()["passkeys"]
    assert passkey["last_used_at"] is not None


def test_login_options_name_no_account_and_require_user_verification(client):
    token = account(client)
    add_passkey(client, token, SoftAuthenticator())

    first, second = login_options(client), login_options(client)

    for options in (first, second):
        assert options["allowCredentials"] == []
        assert options["userVerification"] == "required"
        assert options["rpId"] == "localhost"
        assert len(base64url_to_bytes(options["challenge"])) == 32
    assert first["challenge"] != second["challenge"]


def test_registration_asks_for_a_discoverable_passkey_without_attestation(client):
    token = account(client)

    options = client.post(f"{ME}/registration-options", headers=bearer(token)).json()

    assert options["authenticatorSelection"]["residentKey"] == "required"
    assert options["attestation"] == "none"
    assert options["rp"]["id"] == "localhost"
    assert options["timeout"] == 5 * 60 * 1000


def test_the_user_handle_is_64_random_bytes_never_the_id_or_username(client, ctx):
    token = account(client)
    first = client.post(f"{ME}/registration-options", headers=bearer(token)).json()
    second = client.post(f"{ME}/registration-options", headers=bearer(token)).json()
    other = account(client, "kenji")
    theirs = client.post(f"{ME}/registration-options", headers=bearer(other)).json()

    handle = base64url_to_bytes(first["user"]["id"])
    assert len(handle) == 64
    assert first["user"]["id"] == second["user"]["id"]  # one per account
    assert theirs["user"]["id"] != first["user"]["id"]
    assert b"hana" not in handle
    with ctx.database.session() as db:
        assert db.query(PasskeyUserHandle).count() == 2


def test_an_unknown_passkey_is_answered_like_a_wrong_one(client):
    token = account(client)
    phone = SoftAuthenticator()
    add_passkey(client, token, phone)
    stranger = SoftAuthenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"})

    unknown = passkey_login(client, stranger)
    wrong = passkey_login(client, phone, origin="https://evil.example")

    assert unknown.status_code == wrong.status_code == 400
    assert unknown.json() == wrong.json()
    assert unknown.json()["code"] == "passkey_not_accepted"


def test_ten_passkeys_at_most(client):
    token = account(client)
    for _ in range(10):
        assert add_passkey(client, token, SoftAuthenticator()).status_code == 201

    eleventh = client.post(f"{ME}/registration-options", headers=bearer(token))

    problem(eleventh, 409, "too_many_passkeys")


def test_the_same_authenticator_is_excluded_when_adding_again(client):
    token = account(client)
    phone = SoftAuthenticator()
    add_passkey(client, token, phone)

    options = client.post(f"{ME}/registration-options", headers=bearer(token)).json()

    assert [c["id"] for c in options["excludeCredentials"]] == [
        bytes_to_base64url(phone.credentials[0].raw_id)
    ]


def test_rename_and_remove(client, ctx):
    token = account(client)
    passkey_id = add_passkey(client, token, SoftAuthenticator()).json()["id"]

    renamed = client.patch(
        f"{ME}/{passkey_id}", json={"name": "  Pixel　8 "}, headers=bearer(token)
    )
    assert renamed.status_code == 200, renamed.text
    assert renamed.json()["name"] == "Pixel 8"
    removed = client.delete(f"{ME}/{passkey_id}", headers=bearer(token))

    assert removed.status_code == 204
    assert client.get(ME, headers=bearer(token)).json()["passkeys"] == []
    assert [e.event for e in events(ctx) if e.event.startswith("passkey.")] == [
        "passkey.added",
        "passkey.renamed",
        "passkey.removed",
    ]
    told = subjects(ctx, "hana@example.com")
    assert "A passkey was renamed" in told
    assert "A passkey was removed" in told
    # Each is in the security alerts, with its own "This wasn't me".
    alerts = client.get("/api/v1/me/alerts", headers=bearer(token)).json()["alerts"]
    passkey_alerts = [a for a in alerts if a["event"].startswith("passkey.")]
    assert [a["event"] for a in passkey_alerts] == [
        "passkey.removed",
        "passkey.renamed",
        "passkey.added",
    ]
    assert all("/accounts/wasnt-me/" in a["wasnt_me_url"] for a in passkey_alerts)


def test_a_removed_passkey_no_longer_logs_in(client):
    token = account(client)
    phone = SoftAuthenticator()
    passkey_id = add_passkey(client, token, phone).json()["id"]
    client.delete(f"{ME}/{passkey_id}", headers=bearer(token))

    problem(passkey_login(client, phone), 400, "passkey_not_accepted")


def test_another_persons_passkey_cannot_be_renamed_or_removed(client):
    hana = account(client)
    passkey_id = add_passkey(client, hana, SoftAuthenticator()).json()["id"]
    kenji = account(client, "kenji")

    problem(
        client.patch(f"{ME}/{passkey_id}", json={"name": "mine"}, headers=bearer(kenji)),
        404,
        "passkey_not_found",
    )
    problem(client.delete(f"{ME}/{passkey_id}", headers=bearer(kenji)), 404, "passkey_not_found")
    assert client.get(ME, headers=bearer(kenji)).json()["passkeys"] == []
    assert len(client.get(ME, headers=bearer(hana)).json()["passkeys"]) == 1


def test_adding_and_removing_need_a_recent_confirmation(client, clock):
    token = account(client)
    passkey_id = add_passkey(client, token, SoftAuthenticator()).json()["id"]
    clock.advance(minutes=11)

    problem(
        client.post(f"{ME}/registration-options", headers=bearer(token)),
        403,
        "reauthentication_required",
    )
    problem(
        client.delete(f"{ME}/{passkey_id}", headers=bearer(token)), 403, "reauthentication_required"
    )


@pytest.mark.parametrize("name", ["", "   ", "x" * 65])
def test_a_name_must_be_1_to_64_characters(client, name):
    token = account(client)
    passkey_id = add_passkey(client, token, SoftAuthenticator()).json()["id"]

    answer = client.patch(f"{ME}/{passkey_id}", json={"name": name}, headers=bearer(token))

    assert answer.status_code == 422


def test_public_keys_are_stored_and_no_challenge_is(client, ctx):
    token = account(client)
    options = client.post(f"{ME}/registration-options", headers=bearer(token)).json()
    phone = SoftAuthenticator()
    client.post(ME, json={"credential": phone.create(options)}, headers=bearer(token))

    with ctx.database.session() as db:
        [passkey] = db.query(Passkey).all()
        assert passkey.credential_id
        rows = db.execute(text("SELECT * FROM passkey_challenges")).all()
    dump = "\n".join(str(row) for row in rows)
    assert len(rows) == 1
    challenge = base64url_to_bytes(options["challenge"])
    assert options["challenge"] not in dump
    assert challenge.hex() not in dump


def test_this_wasnt_me_on_a_passkey_added_removes_it(client, ctx):
    token = account(client)
    owners = SoftAuthenticator()
    add_passkey(client, token, owners)
    clock_of(ctx).advance(minutes=5)
    intruders = SoftAuthenticator()
    add_passkey(client, token, intruders)
    link = wasnt_me_link(client, "hana@example.com", "A passkey was added")

    page = client.get(link)
    done = client.post(link, data={"csrf_token": csrf_from(page)})

    assert done.status_code == 200, done.text
    [secured] = events(ctx, "security.wasnt_me")
    assert secured.details["disowned_event"] == "passkey.added"
    assert secured.details["passkeys_removed"] == 1
    problem(passkey_login(client, intruders), 400, "passkey_not_accepted")
    # The owner's own passkey still logs in, held like any login to set a new password.
    problem(passkey_login(client, owners), 403, "password_change_required")
