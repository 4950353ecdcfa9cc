"""Requests that arrive at the same moment: one pending change, one address per account."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest

from mamori.contact_details.models import PendingContactChange
from tests.contact_details.helpers import account, code_for, confirm, details, put, stored_user
from tests.core.helpers import count

pytestmark = pytest.mark.both_databases


def at_once(calls: list[Callable[[], int]]) -> list[int]:
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], int]) -> int:
        start.wait()
        return call()

    with ThreadPoolExecutor(len(calls)) as pool:
        return list(pool.map(run, calls))


def test_simultaneous_changes_leave_one_pending_address_and_its_own_code_works(client, ctx):
    token = account(client)
    addresses = [f"new{n}@example.com" for n in range(5)]

    statuses = at_once(
        [lambda a=a: put(client, token, "email", a).status_code for a in addresses]  # type: ignore[misc]
    )

    assert statuses == [202] * 5
    assert count(ctx, PendingContactChange) == 1
    waiting = details(client, token)["pending_email"]
    assert waiting in addresses
    assert confirm(client, token, "email", code_for(client, waiting)).status_code == 200
    assert stored_user(ctx).email == waiting


def test_two_accounts_confirming_one_address_at_once_one_gets_it(client, ctx):
    hana, kenji = account(client), account(client, "kenji")
    put(client, hana, "email", "shared@example.com")
    hanas_code = code_for(client, "shared@example.com")
    put(client, kenji, "email", "shared@example.com")
    kenjis_code = code_for(client, "shared@example.com")

    statuses = at_once(
        [
            lambda: confirm(client, hana, "email", hanas_code).status_code,
            lambda: confirm(client, kenji, "email", kenjis_code).status_code,
        ]
    )

    assert sorted(statuses) == [200, 409]
    holders = [u for u in (stored_user(ctx, "hana"), stored_user(ctx, "kenji")) if u.email]
    assert len(holders) == 1
