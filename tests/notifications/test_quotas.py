"""Send quotas (notifications/quotas.py): a slot is reserved at once or not at all."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.core.errors import TooManyAttempts
from mamori.notifications.quotas import SendQuota, Slot, reserve_sends

pytestmark = pytest.mark.both_databases

RESEND = SendQuota("test-resend", timedelta(hours=1), limit=5, cooldown=timedelta(seconds=30))
ONE_A_DAY = SendQuota("test-daily", timedelta(days=1), limit=1)


def reserve(ctx: Context, *slots: Slot) -> None:
    with ctx.database.session() as db:
        reserve_sends(db, ctx.clock, slots)


def test_twenty_reservations_at_once_give_one_slot(ctx: Context):
    start_line = threading.Barrier(20)

    def one(_: int) -> str:
        start_line.wait()
        try:
            reserve(ctx, (RESEND, "binding"))
        except TooManyAttempts as refused:
            return f"wait {refused.retry_after_seconds}"
        return "reserved"

    with ThreadPoolExecutor(20) as pool:
        outcomes = list(pool.map(one, range(20)))

    assert outcomes.count("reserved") == 1, outcomes
    assert all(o in ("wait 30", "wait 31") for o in outcomes if o != "reserved"), outcomes


def test_a_refused_reservation_takes_nothing_from_the_other_quotas(ctx: Context):
    reserve(ctx, (ONE_A_DAY, "number"))
    with pytest.raises(TooManyAttempts):
        reserve(ctx, (RESEND, "binding"), (ONE_A_DAY, "number"))
    reserve(ctx, (RESEND, "binding"))  # its first slot was still free: no wait


def test_five_sends_thirty_seconds_apart_then_the_rest_of_an_hour(
    ctx: Context, clock: MovableClock
):
    reserve(ctx, (RESEND, "binding"))
    with pytest.raises(TooManyAttempts) as too_soon:
        reserve(ctx, (RESEND, "binding"))
    assert too_soon.value.retry_after_seconds == 30
    for _ in range(4):
        clock.advance(seconds=30)
        reserve(ctx, (RESEND, "binding"))
    clock.advance(seconds=30)
    with pytest.raises(TooManyAttempts) as used_up:
        reserve(ctx, (RESEND, "binding"))
    assert used_up.value.retry_after_seconds == 3600 - 30
    clock.advance(seconds=3600 - 30)
    reserve(ctx, (RESEND, "binding"))
