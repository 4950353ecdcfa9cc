"""Codes typed at once: a code vouches once, and the proof is recorded once."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mamori.core.errors import CodeAlreadyUsed, InvalidCode
from mamori.recovery.models import RecoveryProof
from mamori.trusted_contacts import service
from tests.core.helpers import count, events
from tests.trusted_contacts.helpers import ORIGIN, ask, choose, code_from, people, start_recovery

pytestmark = pytest.mark.both_databases

RACERS = 10


def _race(ctx, token: str, codes: list[str]) -> list[str]:
    start_line = threading.Barrier(len(codes))

    def enter(code: str) -> str:
        start_line.wait()
        try:
            with ctx.database.session() as db:
                found = service.enter_contact_code(db, ctx, ORIGIN, token, code)
                return f"vouches {found.vouches}"
        except CodeAlreadyUsed:
            return "already used"
        except InvalidCode:
            return "invalid"

    with ThreadPoolExecutor(len(codes)) as pool:
        return list(pool.map(enter, codes))


def test_one_code_typed_ten_times_at_once_vouches_once(client, ctx):
    who = people(client, "hana", "ken", "aiko", "yuki")
    choose(client, who["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    code = code_from(client, who["ken"])

    outcomes = _race(ctx, token, [code] * RACERS)

    assert outcomes.count("vouches 1") == 1, outcomes
    assert outcomes.count("already used") == RACERS - 1, outcomes
    assert len(events(ctx, "trusted_contacts.vouched")) == 1


def test_the_last_codes_typed_at_once_give_one_proof(client, ctx):
    who = people(client, "hana", "ken", "aiko", "yuki")
    choose(client, who["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken", "aiko", "yuki")
    codes = [code_from(client, who[name]) for name in ("ken", "aiko", "yuki")]

    outcomes = _race(ctx, token, codes)

    assert sorted(outcomes) == ["vouches 1", "vouches 2", "vouches 3"], outcomes
    assert count(ctx, RecoveryProof) == 1
    assert len(events(ctx, "recovery.proof_accepted")) == 1
