"""What tests/attacks/test_enumeration.py measures with a clock, counted exactly: for a
known and an unknown e-mail or phone, login, sign-up and "Can't log in?" send the database
the same statements in the same order, and so does asking a real trusted contact or
someone else. One statement more for a known address is about a
millisecond, enough to tell over many tries which addresses have an account; this check
does not depend on how loaded the machine is."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable

from fastapi.testclient import TestClient

from mamori.context import Context
from tests.conftest import PASSWORD
from tests.core.helpers import statements_run
from tests.recovery.helpers import account, send, start
from tests.trusted_contacts.helpers import choose, people

WRONG = "not the right password at all"
NUMBERS = itertools.count(1)
# A savepoint kept and one undone cost alike: a real message is queued in a savepoint that
# is kept, a withheld one in a savepoint that is undone (codes/sending.py).
SAVEPOINT_ENDS = re.compile(r"^(RELEASE|ROLLBACK TO) SAVEPOINT \w+$")


def ran(ctx: Context, action: Callable[[], None]) -> list[str]:
    return [SAVEPOINT_ENDS.sub("SAVEPOINT ends", s) for s in statements_run(ctx, action)]


def alike(ctx: Context, known: Callable[[], None], unknown: Callable[[], None]) -> None:
    """Each run once first (a first run creates counter rows), then compared."""
    for action in (known, unknown):
        statements_run(ctx, action)
    assert ran(ctx, known) == ran(ctx, unknown)


def test_a_wrong_password_for_a_known_or_an_unknown_address(client: TestClient, ctx: Context):
    account(client, ctx, phone="090-1234-5678")

    def log_in(login: str):
        def attempt() -> None:
            answer = client.post("/api/v1/login", json={"login": login, "password": WRONG})
            assert answer.status_code == 401, answer.text

        return attempt

    alike(ctx, log_in("hana@example.com"), log_in("hina@example.com"))
    alike(ctx, log_in("+81 90 1234 5678"), log_in("090-9999-0000"))


def test_sign_up_with_a_registered_or_a_new_address(client: TestClient, ctx: Context):
    account(client, ctx, phone="090-1234-5678")

    def sign_up(registered_email: str | None = None, registered_phone: str | None = None):
        """A new username each time; the address given is the registered one, or new."""

        def create() -> None:
            number = next(NUMBERS)
            given = {"email": registered_email or f"new{number}@example.com"}
            if registered_phone is not None:
                given["phone"] = registered_phone or f"090-5555-{number:04d}"
            answer = client.post(
                "/api/v1/accounts",
                json={"username": f"user{number}", "password": PASSWORD, **given},
            )
            assert answer.status_code == 201, answer.text

        return create

    alike(ctx, sign_up(registered_email="hana@example.com"), sign_up())
    alike(ctx, sign_up(registered_phone="090-1234-5678"), sign_up(registered_phone=""))


def test_the_code_send_step_for_a_known_or_an_unknown_address(client: TestClient, ctx: Context):
    account(client, ctx, phone="090-1234-5678")

    def send_to(login: str, option: str):
        def step() -> None:
            recovery = start(client, login)["recovery"]
            assert send(client, recovery, option).status_code == 202

        return step

    alike(ctx, send_to("hana@example.com", "email"), send_to("hina@example.com", "email"))
    alike(ctx, send_to("+81 90 1234 5678", "sms"), send_to("090-9999-0000", "sms"))


def test_asking_a_trusted_contact_or_someone_else(client: TestClient, ctx: Context):
    who = people(client, "emi", "ken", "aiko", "yuki", "mallory")
    choose(client, who["emi"], "ken", "aiko", "yuki")

    def ask(name: str):
        def step() -> None:
            recovery = start(client, "emi")["recovery"]
            answer = client.post(
                f"/api/v1/recovery/{recovery}/trusted-contacts", json={"usernames": [name]}
            )
            assert answer.status_code == 202, answer.text

        return step

    alike(ctx, ask("ken"), ask("mallory"))
