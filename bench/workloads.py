"""mamori's API workloads for bench.loadgen (one operation = what a user does once).

Each takes the seeded `Accounts` (bench.seed) and, where a code cannot be replayed, uses a
different account per operation (operation n -> account n, so max_ops=accounts.count)."""

from __future__ import annotations

import time

from bench.loadgen import HttpClient, LoadError
from bench.seed import Accounts
from mamori.totp.service import STEP_SECONDS, code_at

JSON = {"Accept": "application/json"}


def _log_in(client: HttpClient, accounts: Accounts, user_id: int) -> dict[str, object]:
    answer = client.request(
        "POST",
        "/api/v1/login",
        json_body={"login": accounts.username(user_id), "password": accounts.password},
        headers=JSON,
        expect=200,
    ).json()
    assert isinstance(answer, dict)
    return answer


class PasswordLogin:
    """POST /api/v1/login with the right password; accounts without two-factor."""

    name = "password login"

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def prepare(self, n: int) -> int:
        return self.accounts.user_id(n)

    def run(self, client: HttpClient, user_id: int) -> None:
        if _log_in(client, self.accounts, user_id).get("status") != "authenticated":
            raise LoadError("no session token")


class TotpLogin:
    """Password, then the authenticator app's current code (one account per operation:
    a TOTP step is accepted once)."""

    name = "login with TOTP"

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def prepare(self, n: int) -> int:
        return self.accounts.user_id(n)

    def run(self, client: HttpClient, user_id: int) -> None:
        challenge = _log_in(client, self.accounts, user_id).get("challenge")
        if not challenge:
            raise LoadError("no two-factor challenge")
        code = code_at(self.accounts.totp_secret(user_id), int(time.time()) // STEP_SECONDS)
        client.request(
            "POST",
            f"/api/v1/login/{challenge}/verify",
            json_body={"method": "totp", "code": code},
            headers=JSON,
            expect=200,
        )


class BackupCodeLogin:
    """Password, then a backup code (the n-th use of an account spends its n-th code)."""

    name = "login with backup code"

    def __init__(self, accounts: Accounts, codes_per_account: int) -> None:
        self.accounts = accounts
        self.codes = codes_per_account

    def prepare(self, n: int) -> tuple[int, str]:
        user_id = self.accounts.user_id(n)
        position = (n // self.accounts.count) % self.codes
        return user_id, self.accounts.backup_code(user_id, position)

    def run(self, client: HttpClient, data: tuple[int, str]) -> None:
        user_id, code = data
        challenge = _log_in(client, self.accounts, user_id).get("challenge")
        if not challenge:
            raise LoadError("no two-factor challenge")
        client.request(
            "POST",
            f"/api/v1/login/{challenge}/verify",
            json_body={"method": "backup_code", "code": code},
            headers=JSON,
            expect=200,
        )


class BackupCodeVerify:
    """Only the second step: a backup code against a login challenge seeded as open
    (bench.seed challenges=k), so the figure is the backup-code check, not argon2id.
    Operation n uses account n % count, its challenge and code number n // count."""

    name = "backup-code verification"

    def __init__(self, accounts: Accounts, challenges_per_account: int) -> None:
        self.accounts = accounts
        self.challenges = challenges_per_account

    def prepare(self, n: int) -> tuple[str, str]:
        user_id = self.accounts.user_id(n)
        k = n // self.accounts.count
        return (
            self.accounts.challenge_token(user_id, k),
            self.accounts.backup_code(user_id, k),
        )

    def run(self, client: HttpClient, data: tuple[str, str]) -> None:
        challenge, code = data
        client.request(
            "POST",
            f"/api/v1/login/{challenge}/verify",
            json_body={"method": "backup_code", "code": code},
            headers=JSON,
            expect=200,
        )


class WhoAmI:
    """GET /api/v1/me with a live session token."""

    name = "who am i"

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def prepare(self, n: int) -> str:
        return self.accounts.session_token(self.accounts.user_id(n))

    def run(self, client: HttpClient, token: str) -> None:
        client.request(
            "GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}", **JSON}, expect=200
        )
