"""Ten requests racing with one "This wasn't me" link: exactly one acts (SQLite and
PostgreSQL), because the link's digest can be inserted once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.core.errors import MamoriError
from mamori.notifications.links import latest_event_id, wasnt_me_token
from mamori.security import service
from tests.backup_codes.helpers import ORIGIN, make_user
from tests.core.helpers import events

pytestmark = pytest.mark.both_databases

RACERS = 10


def test_ten_threads_use_one_link_exactly_once(ctx):
    user_id = make_user(ctx)
    with ctx.database.session() as db:
        token = wasnt_me_token(ctx.keyring, user_id, latest_event_id(db, user_id), ctx.clock.now())
    start_line = threading.Barrier(RACERS)

    def confirm(_: int) -> str:
        start_line.wait()
        try:
            with ctx.database.session() as db:
                service.disown(db, ctx, ORIGIN, token)
                return "secured"
        except MamoriError as error:
            return error.code

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(confirm, range(RACERS)))

    assert outcomes.count("secured") == 1, outcomes
    assert outcomes.count("link_already_used") == RACERS - 1, outcomes
    assert len(events(ctx, "security.wasnt_me")) == 1
    with ctx.database.session() as db:
        user = db.scalar(select(User).where(User.id == user_id))
        assert user is not None
        assert service.password_change_required(db, user)
