"""Operators deciding one case at once: exactly one decision, one recovery, one link."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mamori.recovery.models import RecoveryAttempt
from mamori.support import service
from mamori.support.errors import CaseClosed
from tests.core.helpers import count, events
from tests.support.helpers import (
    CONTACT,
    ORIGIN,
    make_operator,
    make_user,
    open_case,
    opened_reference,
    operator,
    outbox,
)

pytestmark = pytest.mark.both_databases

RACERS = 8


def test_operators_approving_and_denying_at_once_make_one_decision(client, ctx):
    make_user(ctx, "hana")
    operators = [make_operator(ctx, f"op{n}") for n in range(RACERS)]
    reference = opened_reference(open_case(client, login="hana"))
    start_line = threading.Barrier(RACERS)

    def decide(number: int) -> str:
        start_line.wait()
        try:
            with ctx.database.session() as db:
                who = operator(db, operators[number])
                if number % 2:
                    service.deny_case(db, ctx, ORIGIN, reference, operator=who, reason="no")
                    return "denied"
                service.approve_case(db, ctx, ORIGIN, reference, operator=who)
                return "approved"
        except CaseClosed:
            return "closed"

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(decide, range(RACERS)))

    assert outcomes.count("closed") == RACERS - 1, outcomes
    decided = [o for o in outcomes if o != "closed"]
    assert len(decided) == 1
    assert count(ctx, RecoveryAttempt) == (1 if decided == ["approved"] else 0)
    decisions = events(ctx, "support.case_approved") + events(ctx, "support.case_denied")
    assert len(decisions) == 1
    # One answer to the contact address besides the acknowledgement.
    assert len(outbox(client, CONTACT)) == 2
