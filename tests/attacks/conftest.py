"""A real `mamori serve` (a separate process, SQLite, production argon2id cost) for the
attack tests, with one account whose e-mail and phone are confirmed."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import PASSWORD
from tests.core.servers import PER_ADDRESS_LIMITS_RAISED
from tests.e2e.conftest import running_server

EMAIL = "hana@example.com"
PHONE = "090-1234-5678"
PHONE_E164 = "+819012345678"
CODE = re.compile(r"\b(\d{6})\b")

# Per-IP and per-login limits raised far above what a run needs. The throttles still run
# (their counters are read and written on every request, as in production); only their
# thresholds move, so 50 known and 50 unknown tries per round time the hash and the
# lookups rather than a 429. Every request comes from 127.0.0.1: varying X-Forwarded-For
# behind MAMORI_TRUSTED_PROXIES would spread the per-IP counters, but not the per-login
# ones, which an enumeration run of one known login hits first. argon2id is left at
# mamori's defaults (OWASP: 19 MiB, t=2), as in production.
RAISED_LIMITS = {
    **PER_ADDRESS_LIMITS_RAISED,
    "LOGIN_ACCOUNT_FREE_FAILURES": "100000",
    "RECOVERY_STARTS_PER_ACCOUNT_HOUR": "100000",
    "SECURITY_CODE_SENDS_PER_DESTINATION_HOUR": "100000",
    "SMS_SENDS_PER_HOUR": "100000",
}


def last_code_sent_to(client: httpx.Client, to: str) -> str:
    for message in client.get("/dev/outbox").json():
        found = CODE.search(message["body"])
        if message["to"] == to and found:
            return found.group(1)
    raise AssertionError(f"no code was sent to {to}")


def confirmed_account(client: httpx.Client) -> None:
    """hana, as a new user leaves her: e-mail and phone confirmed through Contact details."""
    created = client.post(
        "/api/v1/accounts",
        json={"username": "hana", "password": PASSWORD, "email": EMAIL, "phone": PHONE},
    )
    assert created.status_code == 201, created.text
    logged_in = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {logged_in.json()['token']}"}
    for kind, to in (("email", EMAIL), ("phone", PHONE_E164)):
        assert client.post(f"/api/v1/me/{kind}/send", headers=headers).status_code == 202
        confirmed = client.post(
            f"/api/v1/me/{kind}/confirm",
            headers=headers,
            json={"code": last_code_sent_to(client, to)},
        )
        assert confirmed.status_code == 200, confirmed.text
    client.post("/api/v1/logout", headers=headers)


@pytest.fixture(scope="package")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    """A client of the server, kept alive across requests as an app's would be. One
    server for the whole folder (per test process): starting one takes seconds."""
    folder = tmp_path_factory.mktemp("attacks")
    with (
        running_server(folder, **RAISED_LIMITS) as server,
        httpx.Client(base_url=server.url, timeout=30) as client,
    ):
        confirmed_account(client)
        yield client
