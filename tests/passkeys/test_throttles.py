"""A passkey login shares the account's failure counter and the per-IP limit with the
password login (the owner's own device counting apart, as for passwords), and a login
from a new device is told to the owner."""

from __future__ import annotations

import pytest

from tests.backup_codes.helpers import subjects
from tests.conftest import PASSWORD
from tests.core.helpers import app_client, problem, with_settings
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import account, add_passkey, passkey_login
from tests.security.helpers import IPHONE

ELSEWHERE = ("198.51.100.7", 40000)
NEW_DEVICE = "New login from a device we don't recognise"


@pytest.mark.both_databases
def test_failed_passkey_logins_hold_the_accounts_password_login_too(client, ctx):
    token = account(client)
    phone = SoftAuthenticator()
    add_passkey(client, token, phone)
    with app_client(ctx, peer=ELSEWHERE) as elsewhere:
        for _ in range(5):  # the free failures (MAMORI_LOGIN_ACCOUNT_FREE_FAILURES)
            refused = passkey_login(elsewhere, phone, user_verified=False)
            problem(refused, 400, "passkey_not_accepted")

        held = passkey_login(elsewhere, phone)
        password = elsewhere.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})

        problem(held, 429, "too_many_attempts")
        problem(password, 429, "too_many_attempts")
    # The owner's own device, where the account logged in before, is not held.
    assert passkey_login(client, phone).status_code == 200


def test_a_passkey_login_from_a_new_device_is_told_to_the_owner(client, ctx):
    token = account(client)
    phone = SoftAuthenticator()
    add_passkey(client, token, phone)
    before = subjects(ctx, "hana@example.com").count(NEW_DEVICE)

    with app_client(ctx, peer=ELSEWHERE) as elsewhere:
        elsewhere.headers["User-Agent"] = IPHONE
        answer = passkey_login(elsewhere, phone)

    assert answer.status_code == 200
    assert subjects(ctx, "hana@example.com").count(NEW_DEVICE) == before + 1


def test_options_for_anyone_are_limited_per_ip(ctx):
    few = with_settings(ctx, login_ip_failures=1)  # three sets of options per window
    with app_client(few, peer=ELSEWHERE) as elsewhere:
        answers = [elsewhere.post("/api/v1/login/passkey/options") for _ in range(4)]

    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    problem(answers[-1], 429, "too_many_attempts")


def test_unknown_passkeys_use_up_the_ips_login_limit(ctx):
    few = with_settings(ctx, login_ip_failures=2)
    with app_client(few, peer=ELSEWHERE) as elsewhere:
        strangers = [SoftAuthenticator() for _ in range(3)]
        for stranger in strangers:
            stranger.create(
                {"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"}
            )

        first, second, third = (passkey_login(elsewhere, s) for s in strangers)
        password = elsewhere.post("/api/v1/login", json={"login": "nobody", "password": PASSWORD})

    problem(first, 400, "passkey_not_accepted")
    problem(second, 400, "passkey_not_accepted")
    problem(third, 429, "too_many_attempts")
    problem(password, 429, "too_many_attempts")
