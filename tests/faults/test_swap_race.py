"""Codes being used while "Get new codes" swaps the set, all at once (SQLite, PostgreSQL).

Each use either spends its code (it came first) or finds the set already replaced
(invalid_code); each swap leaves one whole set. Never a database error: on PostgreSQL a
use and a swap once locked the same two rows in opposite order, and the deadlock it
detected reached the person as a 503.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from mamori.accounts.models import User
from mamori.backup_codes import service
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.core.errors import InvalidCode
from mamori.sessions.models import LoginSession
from tests.backup_codes.helpers import ORIGIN, make_codes, make_user, start, with_settings

ROUNDS = 3
SPENDERS = 8
SWAPPERS = 4


@pytest.mark.both_databases
def test_uses_racing_new_codes_never_fail_with_a_database_error(ctx):
    ctx = with_settings(ctx, backup_codes_count=SPENDERS)
    user_id = make_user(ctx)
    session_id, _ = start(ctx, user_id)
    for _ in range(ROUNDS):
        codes = make_codes(ctx, user_id)
        start_line = threading.Barrier(SPENDERS + SWAPPERS)

        def spend(code: str, start_line: threading.Barrier = start_line) -> str:
            start_line.wait()
            try:
                with ctx.database.session() as db:
                    user = db.get(User, user_id)
                    assert user is not None
                    service.use_backup_code(db, ctx, ORIGIN, user, code)
                    return "spent"
            except InvalidCode:
                return "set replaced"

        def swap(_: int, start_line: threading.Barrier = start_line) -> str:
            start_line.wait()
            with ctx.database.session() as db:
                user = db.get(User, user_id)
                session = db.get(LoginSession, session_id)
                assert user is not None and session is not None
                service.regenerate_backup_codes(db, ctx, ORIGIN, user, session)
                return "swapped"

        with ThreadPoolExecutor(SPENDERS + SWAPPERS) as pool:
            uses = pool.map(spend, codes)
            swaps = pool.map(swap, range(SWAPPERS))
            outcomes = list(uses) + list(swaps)

        assert outcomes.count("swapped") == SWAPPERS, outcomes
        assert outcomes.count("spent") + outcomes.count("set replaced") == SPENDERS
        with ctx.database.session() as db:
            sets = db.scalars(select(BackupCodeSet).where(BackupCodeSet.user_id == user_id))
            (current,) = sets.all()
            in_set = select(func.count()).where(BackupCode.set_id == current.id)
            assert db.scalar(in_set) == SPENDERS
            assert service.remaining_codes(db, user_id) == SPENDERS  # a new set, untouched
