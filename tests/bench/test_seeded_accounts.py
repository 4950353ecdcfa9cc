"""The bench's accounts (bench/seed.py) log in like real ones. They are written straight
into the tables, so a new rule in a login (a column a check now reads) can leave them
behind, and every bench operation then fails with a 4xx instead of being measured: the
scale run of 5 December refused all 9,050 of its backup-code verifications that way."""

from __future__ import annotations

from bench.seed import seed_accounts
from tests.conftest import bearer

SEEDED = 3


def test_seeded_accounts_log_in_with_password_code_backup_code_and_session(client, ctx):
    accounts = seed_accounts(ctx, SEEDED, totp=True, backup_codes=10, sessions=True, challenges=1)
    user_id = accounts.user_id(1)

    password = client.post(
        "/api/v1/login",
        json={"login": accounts.username(user_id), "password": accounts.password},
    )
    assert password.status_code == 200, password.text
    assert password.json()["status"] == "two_factor_required"

    verified = client.post(
        f"/api/v1/login/{accounts.challenge_token(user_id, 0)}/verify",
        json={"method": "backup_code", "code": accounts.backup_code(user_id, 0)},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "authenticated"

    me = client.get("/api/v1/me", headers=bearer(accounts.session_token(user_id)))
    assert me.status_code == 200, me.text
    assert me.json()["username"] == accounts.username(user_id)
