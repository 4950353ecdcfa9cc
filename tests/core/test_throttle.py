"""The failure counters behind every throttle: in the database or in Redis, the same answers.

Several mamori instances share these counters, so what one instance counts another must
see; both stores are run through the same script of failures and waits.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest

from mamori.context import Context
from mamori.core.errors import TooManyAttempts
from mamori.core.throttle import DatabaseCounters, Policy, Throttle
from mamori.recovery.service import wrong_code_policy
from tests.conftest import redis_counters
from tests.core.helpers import clock_of

pytestmark = pytest.mark.both_databases

POLICY = Policy(name="test", window=timedelta(hours=1), free=3, max_delay=timedelta(seconds=60))
LOCKING = Policy(
    name="locking", window=timedelta(hours=1), free=3, max_delay=timedelta(seconds=60), lock_at=6
)


@pytest.fixture(params=["database-counters", "redis-counters"])
def throttle(request: pytest.FixtureRequest, ctx: Context) -> Throttle:
    clock = clock_of(ctx)
    if request.param == "redis-counters":
        return Throttle(redis_counters(clock), clock)
    return Throttle(DatabaseCounters(clock), clock)


def wait_of(throttle: Throttle, ctx: Context, subject: str, policy: Policy = POLICY) -> int | None:
    with ctx.database.session() as db:
        try:
            throttle.check(db, policy, subject)
        except TooManyAttempts as blocked:
            return blocked.retry_after_seconds
    return None


def fail(throttle: Throttle, ctx: Context, subject: str, policy: Policy = POLICY) -> int:
    with ctx.database.session() as db:
        return throttle.record_failure(db, policy, subject)


def failures(throttle: Throttle, ctx: Context, subject: str) -> int:
    with ctx.database.session() as db:
        return throttle.failures(db, POLICY, subject)


def test_the_free_failures_cost_nothing_then_the_wait_doubles_to_its_cap(throttle, ctx):
    counts = [fail(throttle, ctx, "hana") for _ in range(2)]
    assert counts == [1, 2]
    assert wait_of(throttle, ctx, "hana") is None

    waits = []
    for _ in range(9):
        fail(throttle, ctx, "hana")
        waits.append(wait_of(throttle, ctx, "hana"))
        clock_of(ctx).advance(seconds=waits[-1] or 0)

    assert waits == [1, 2, 4, 8, 16, 32, 60, 60, 60]


def test_the_wait_counts_down_as_time_passes(throttle, ctx):
    for _ in range(3 + 5):
        fail(throttle, ctx, "hana")
    assert wait_of(throttle, ctx, "hana") == 32

    clock_of(ctx).advance(seconds=30)

    assert wait_of(throttle, ctx, "hana") == 2
    clock_of(ctx).advance(seconds=2)
    assert wait_of(throttle, ctx, "hana") is None


def test_a_window_that_has_ended_starts_the_count_again(throttle, ctx):
    fail(throttle, ctx, "hana")
    fail(throttle, ctx, "hana")

    clock_of(ctx).advance(hours=1, seconds=1)

    assert failures(throttle, ctx, "hana") == 0
    assert fail(throttle, ctx, "hana") == 1


def test_a_wait_longer_than_the_window_still_holds(throttle, ctx):
    long_wait = Policy(
        name="long", window=timedelta(minutes=1), free=1, max_delay=timedelta(hours=2)
    )
    for _ in range(12):  # 2**11 seconds: past the one-minute window
        fail(throttle, ctx, "hana", long_wait)

    clock_of(ctx).advance(minutes=5)

    wait = wait_of(throttle, ctx, "hana", long_wait)
    assert wait is not None
    assert wait == 2**11 - 5 * 60


def test_clearing_forgets_the_failures(throttle, ctx):
    for _ in range(5):
        fail(throttle, ctx, "hana")

    with ctx.database.session() as db:
        throttle.clear(db, POLICY, "hana")

    assert wait_of(throttle, ctx, "hana") is None
    assert failures(throttle, ctx, "hana") == 0


def test_subjects_and_policies_are_counted_apart(throttle, ctx):
    for _ in range(5):
        fail(throttle, ctx, "hana")

    assert wait_of(throttle, ctx, "kenji") is None
    assert wait_of(throttle, ctx, "hana", LOCKING) is None
    assert failures(throttle, ctx, "kenji") == 0


def test_a_locking_policy_blocks_for_good_at_its_limit(throttle, ctx):
    for _ in range(6):
        clock_of(ctx).advance(seconds=wait_of(throttle, ctx, "hana", LOCKING) or 0)
        fail(throttle, ctx, "hana", LOCKING)

    clock_of(ctx).advance(days=30)

    wait = wait_of(throttle, ctx, "hana", LOCKING)
    assert wait is not None
    assert wait > 365 * 24 * 3600


def test_counts_survive_a_failed_request(throttle, ctx):
    """A wrong password raises after counting: the count must be kept, not rolled back."""
    with pytest.raises(TooManyAttempts), ctx.database.session() as db:
        for _ in range(3):
            throttle.record_failure(db, POLICY, "hana")
        throttle.check(db, POLICY, "hana")

    assert failures(throttle, ctx, "hana") == 3


def reserve(throttle: Throttle, ctx: Context, subject: str, policy: Policy = POLICY) -> int | None:
    """The failures counted with this attempt, or None when it was refused."""
    with ctx.database.session() as db:
        try:
            return throttle.reserve(db, policy, subject)
        except TooManyAttempts:
            return None


def test_a_burst_of_reservations_gets_exactly_the_free_tries(throttle, ctx):
    """40 attempts at once, each counted before it is checked: exactly the 3 free ones
    get through; check-then-count let a burst through on every store."""
    with ThreadPoolExecutor(20) as pool:
        counted = list(pool.map(lambda _: reserve(throttle, ctx, "hana"), range(40)))

    assert sorted(n for n in counted if n is not None) == [1, 2, 3]
    assert wait_of(throttle, ctx, "hana") == 1


def test_a_reservation_given_back_leaves_the_other_failures_counted(throttle, ctx):
    for _ in range(2):
        reserve(throttle, ctx, "office")
    with ctx.database.session() as db:
        throttle.give_back(db, POLICY, "office")

    assert failures(throttle, ctx, "office") == 1


def test_a_typed_login_s_recovery_code_lock_lasts_a_day_not_a_century(throttle, ctx):
    """Anyone can type a username: 100 wrong recovery codes kept its owner out of
    recovery for 100 years (3,153,600,000 s) before the lock was capped."""
    policy = wrong_code_policy(ctx.settings)
    for _ in range(100):
        fail(throttle, ctx, "typed", policy)

    assert wait_of(throttle, ctx, "typed", policy) == 24 * 3600
    clock_of(ctx).advance(days=1, seconds=1)
    assert wait_of(throttle, ctx, "typed", policy) is None
