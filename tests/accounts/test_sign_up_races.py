"""Sign-ups that arrive at the same moment (two phones, one e-mail address)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from mamori.accounts.models import User
from tests.conftest import PASSWORD

pytestmark = pytest.mark.both_databases


def at_once(client, bodies: list[dict[str, str]]) -> list[int]:
    start = threading.Barrier(len(bodies))

    def post(body: dict[str, str]) -> int:
        start.wait()
        return int(client.post("/api/v1/accounts", json=body).status_code)

    with ThreadPoolExecutor(len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_simultaneous_sign_ups_with_one_e_mail_all_succeed_and_hold_it_unconfirmed(client, ctx):
    bodies = [
        {"username": f"person{n}", "password": PASSWORD, "email": "shared@example.com"}
        for n in range(6)
    ]

    statuses = at_once(client, bodies)

    assert statuses == [201] * 6  # the same answer as a sign-up with a fresh address
    with ctx.database.session() as db:
        holders = list(db.scalars(select(User).where(User.email_key == "shared@example.com")))
        users = list(db.scalars(select(User)))
    assert len(users) == 6
    # Typing an address proves nothing: each holds it unconfirmed until a code comes back.
    assert len(holders) == 6
    assert all(holder.email_confirmed_at is None for holder in holders)


def test_simultaneous_sign_ups_with_one_username_create_one_account(client, ctx):
    bodies = [
        {"username": "hana", "password": PASSWORD, "email": f"h{n}@example.com"} for n in range(6)
    ]

    statuses = at_once(client, bodies)

    assert sorted(statuses) == [201] + [409] * 5
    with ctx.database.session() as db:
        assert len(list(db.scalars(select(User)))) == 1
