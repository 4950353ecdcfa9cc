"""20 requests racing to spend one code: exactly one wins (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mamori.accounts.models import User
from mamori.backup_codes import service
from mamori.core.errors import CodeAlreadyUsed, InvalidCode
from tests.backup_codes.helpers import ORIGIN, in_mode, make_codes, make_user, subjects

pytestmark = pytest.mark.both_databases

RACERS = 20


@pytest.mark.parametrize("mode", ["viewable", "hash_only"])
def test_twenty_threads_spend_one_code_exactly_once(ctx, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    code = make_codes(ctx, user_id)[0]
    start_line = threading.Barrier(RACERS)

    def spend(_: int) -> str:
        start_line.wait()
        try:
            with ctx.database.session() as db:
                user = db.get(User, user_id)
                assert user is not None
                return f"remaining {service.use_backup_code(db, ctx, ORIGIN, user, code)}"
        except CodeAlreadyUsed:
            return "already used"
        except InvalidCode:
            return "invalid"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(spend, range(RACERS)))

    assert outcomes.count("remaining 9") == 1, outcomes
    assert outcomes.count("already used") == RACERS - 1, outcomes
    with ctx.database.session() as db:
        assert service.remaining_codes(db, user_id) == 9
    assert subjects(ctx, "hana@example.com").count("A backup code was used to log in") == 1
