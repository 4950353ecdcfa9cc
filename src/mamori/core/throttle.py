"""Failure counters shared by every instance: in the database, or in Redis when configured.

A counter holds how many failures fell in its window and, once a policy decides so,
until when the key is blocked. Successes never touch per-IP counters.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from sqlalchemy import Integer, String, case, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from mamori.core.clock import Clock, as_utc
from mamori.core.db import Base, UTCDateTime
from mamori.core.errors import TooManyAttempts
from mamori.core.metrics import count_throttled


class ThrottleCounter(Base):
    __tablename__ = "throttle_counters"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)


@dataclass(frozen=True)
class CounterState:
    failures: int
    blocked_until: datetime | None


@dataclass(frozen=True)
class Reserved:
    """What a reservation found: `counted` False means refused (blocked until `blocked_until`)."""

    counted: bool
    failures: int
    blocked_until: datetime | None


def _delay_at(delays: Sequence[timedelta | None], failures: int) -> timedelta | None:
    return delays[min(failures, len(delays)) - 1]


class Counters(Protocol):
    """`db` is the caller's unit of work: database counters change inside it, so on
    SQLite a request never waits on its own write lock; Redis ignores it."""

    def add_failure(self, db: Session, key: str, window: timedelta) -> int:
        """Count one failure; a window that has ended starts over. Returns failures now."""

    def reserve(
        self, db: Session, key: str, window: timedelta, delays: Sequence[timedelta | None]
    ) -> Reserved:
        """In one atomic step: refuse while the key is blocked; otherwise count one
        failure and, when `delays[failures - 1]` (the last entry past the end) says so,
        block the key from now. The caller's unit of work must end (commit) before any
        slow work, so no lock outlives this step."""

    def give_back(self, db: Session, key: str, free: int) -> None:
        """Uncount one reserved failure (a success on a shared counter, such as an IP);
        below `free` failures, lift the block that reservation may have set."""

    def state(self, db: Session, key: str) -> CounterState: ...

    def block(self, db: Session, key: str, until: datetime) -> None: ...

    def clear(self, db: Session, key: str) -> None: ...


def _forget_loaded_counters(db: Session) -> None:
    """The upsert bypassed the identity map: counters loaded earlier are stale. Only they:
    expiring everything made the request read its user again."""
    for loaded in list(db.identity_map.values()):
        if isinstance(loaded, ThrottleCounter):
            db.expire(loaded)


class DatabaseCounters:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def add_failure(self, db: Session, key: str, window: timedelta) -> int:
        now = self._clock.now()
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        insert = dialect.insert(ThrottleCounter).values(
            key=key, failures=1, window_ends_at=now + window, blocked_until=None
        )
        expired = ThrottleCounter.window_ends_at <= now

        statement = insert.on_conflict_do_update(
            index_elements=[ThrottleCounter.key],
            set_={
                "failures": case((expired, 1), else_=ThrottleCounter.failures + 1),
                "window_ends_at": case(
                    (expired, now + window), else_=ThrottleCounter.window_ends_at
                ),
                "blocked_until": case((expired, None), else_=ThrottleCounter.blocked_until),
            },
        ).returning(ThrottleCounter.failures)
        failures = int(db.execute(statement).scalar_one())
        _forget_loaded_counters(db)
        return failures

    def reserve(
        self, db: Session, key: str, window: timedelta, delays: Sequence[timedelta | None]
    ) -> Reserved:
        now = self._clock.now()
        dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
        insert = dialect.insert(ThrottleCounter).values(
            key=key, failures=1, window_ends_at=now + window, blocked_until=None
        )
        expired = ThrottleCounter.window_ends_at <= now
        blocked = ThrottleCounter.blocked_until > now
        # The upsert locks the row (PostgreSQL) or the database (SQLite, BEGIN IMMEDIATE)
        # until the caller commits: the block below is written before anyone else counts.
        statement = insert.on_conflict_do_update(
            index_elements=[ThrottleCounter.key],
            set_={
                "failures": case(
                    (expired, 1),
                    (blocked, ThrottleCounter.failures),
                    else_=ThrottleCounter.failures + 1,
                ),
                "window_ends_at": case(
                    (expired, now + window), else_=ThrottleCounter.window_ends_at
                ),
                "blocked_until": case((expired, None), else_=ThrottleCounter.blocked_until),
            },
        ).returning(ThrottleCounter.failures, ThrottleCounter.blocked_until)
        row = db.execute(statement).one()
        _forget_loaded_counters(db)
        failures, until = int(row[0]), row[1]
        until = as_utc(until) if until is not None else None
        if until is not None and until > now:
            return Reserved(False, failures, until)
        delay = _delay_at(delays, failures)
        if delay is None:
            return Reserved(True, failures, None)
        self.block(db, key, now + delay)
        return Reserved(True, failures, now + delay)

    def give_back(self, db: Session, key: str, free: int) -> None:
        db.execute(
            update(ThrottleCounter)
            .where(ThrottleCounter.key == key, ThrottleCounter.failures > 0)
            .values(
                failures=ThrottleCounter.failures - 1,
                blocked_until=case(
                    (ThrottleCounter.failures - 1 < free, None),
                    else_=ThrottleCounter.blocked_until,
                ),
            )
        )

    def state(self, db: Session, key: str) -> CounterState:
        row = db.get(ThrottleCounter, key)
        if row is None or row.window_ends_at <= self._clock.now():
            return CounterState(0, None)
        return CounterState(row.failures, row.blocked_until)

    def block(self, db: Session, key: str, until: datetime) -> None:
        db.execute(
            update(ThrottleCounter)
            .where(ThrottleCounter.key == key)
            .values(
                blocked_until=until,
                window_ends_at=case(
                    (ThrottleCounter.window_ends_at < until, until),
                    else_=ThrottleCounter.window_ends_at,
                ),
            )
        )

    def clear(self, db: Session, key: str) -> None:
        db.execute(delete(ThrottleCounter).where(ThrottleCounter.key == key))


# One round trip, atomic: reset an ended window, count the failure, keep the key alive.
_ADD_FAILURE = """
local ends = tonumber(redis.call('HGET', KEYS[1], 'window_ends') or '0')
local now = tonumber(ARGV[1])
if ends <= now then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'window_ends', ARGV[2])
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local keep = math.max(tonumber(redis.call('HGET', KEYS[1], 'window_ends')), now) - now
redis.call('EXPIRE', KEYS[1], math.ceil(keep) + 60)
return failures
"""


# One round trip, atomic: refuse while blocked, else count and block as `delays` says
# (ARGV[3..]: seconds per failure count, -1 for none; the last one holds past the end).
_RESERVE = """
local now = tonumber(ARGV[1])
local ends = tonumber(redis.call('HGET', KEYS[1], 'window_ends') or '0')
if ends <= now then
  redis.call('DEL', KEYS[1])
  redis.call('HSET', KEYS[1], 'window_ends', ARGV[2])
end
local blocked = tonumber(redis.call('HGET', KEYS[1], 'blocked_until') or '0')
if blocked > now then
  return {0, tonumber(redis.call('HGET', KEYS[1], 'failures') or '0'), tostring(blocked)}
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
local delay = tonumber(ARGV[math.min(failures, #ARGV - 2) + 2])
local until_ = ''
if delay >= 0 then
  until_ = now + delay
  redis.call('HSET', KEYS[1], 'blocked_until', tostring(until_))
  if tonumber(redis.call('HGET', KEYS[1], 'window_ends')) < until_ then
    redis.call('HSET', KEYS[1], 'window_ends', tostring(until_))
  end
end
local keep = math.max(tonumber(redis.call('HGET', KEYS[1], 'window_ends')), now) - now
redis.call('EXPIRE', KEYS[1], math.ceil(keep) + 60)
return {1, failures, tostring(until_)}
"""

_GIVE_BACK = """
if tonumber(redis.call('HGET', KEYS[1], 'failures') or '0') > 0 then
  if redis.call('HINCRBY', KEYS[1], 'failures', -1) < tonumber(ARGV[1]) then
    redis.call('HDEL', KEYS[1], 'blocked_until')
  end
end
"""


class RedisCounters:
    def __init__(self, url: str, clock: Clock, prefix: str = "mamori:throttle:") -> None:
        # Imported only when Redis is configured: the embedded default never loads it.
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # Bounded waits, one retry (a pooled connection Redis dropped on a restart): when
        # Redis is away, requests get a 503 (core/errors.py) within 2 s, not a hang, and
        # /readyz (3 s) learns it is Redis.
        self._redis = redis.Redis.from_url(
            url,
            decode_responses=True,
            socket_connect_timeout=1,
            socket_timeout=1,
            retry=Retry(NoBackoff(), 1),
        )
        self._clock = clock
        self._prefix = prefix
        self._add = self._redis.register_script(_ADD_FAILURE)
        self._reserve = self._redis.register_script(_RESERVE)
        self._give_back = self._redis.register_script(_GIVE_BACK)

    def reserve(
        self, db: Session, key: str, window: timedelta, delays: Sequence[timedelta | None]
    ) -> Reserved:
        now = self._clock.now()
        seconds = [-1.0 if d is None else d.total_seconds() for d in delays]
        counted, failures, until = self._reserve(
            keys=[self._prefix + key],
            args=[now.timestamp(), now.timestamp() + window.total_seconds(), *seconds],
        )
        blocked = datetime.fromtimestamp(float(until), tz=now.tzinfo) if until else None
        return Reserved(bool(counted), int(failures), blocked)

    def give_back(self, db: Session, key: str, free: int) -> None:
        self._give_back(keys=[self._prefix + key], args=[free])

    def add_failure(self, db: Session, key: str, window: timedelta) -> int:
        now = self._clock.now().timestamp()
        ends = now + window.total_seconds()
        return int(self._add(keys=[self._prefix + key], args=[now, ends]))

    def state(self, db: Session, key: str) -> CounterState:
        raw: dict[str, str] = self._redis.hgetall(self._prefix + key)  # type: ignore[assignment]
        now = self._clock.now()
        if not raw or float(raw.get("window_ends", 0)) <= now.timestamp():
            return CounterState(0, None)
        blocked = raw.get("blocked_until")
        until = datetime.fromtimestamp(float(blocked), tz=now.tzinfo) if blocked else None
        return CounterState(int(raw.get("failures", 0)), until)

    def block(self, db: Session, key: str, until: datetime) -> None:
        name = self._prefix + key
        pipe = self._redis.pipeline()
        pipe.hset(name, "blocked_until", str(until.timestamp()))
        pipe.expire(
            name, max(60, math.ceil(until.timestamp() - self._clock.now().timestamp()) + 60)
        )
        pipe.execute()
        current = float(self._redis.hget(name, "window_ends") or 0)
        if current < until.timestamp():
            self._redis.hset(name, "window_ends", str(until.timestamp()))

    def clear(self, db: Session, key: str) -> None:
        self._redis.delete(self._prefix + key)


@dataclass(frozen=True)
class Policy:
    """`free` failures in a window cost nothing; each one after doubles the wait, up to a cap.

    A growing delay rather than a lockout: an attacker cannot lock the owner out for
    long, and cannot guess fast either. `lock_at` (optional) blocks for good, until
    cleared by recovery (NIST SP 800-63B's 100 consecutive failures).
    """

    name: str
    window: timedelta
    free: int
    max_delay: timedelta
    lock_at: int | None = None
    lock_for: timedelta = timedelta(days=365 * 100)

    def delay_after(self, failures: int) -> timedelta | None:
        if self.lock_at is not None and failures >= self.lock_at:
            return self.lock_for
        if failures < self.free:
            return None
        seconds = min(2 ** (failures - self.free), self.max_delay.total_seconds())
        return timedelta(seconds=seconds)


class Throttle:
    def __init__(self, counters: Counters, clock: Clock) -> None:
        self.counters = counters
        self._clock = clock

    @property
    def in_database(self) -> bool:
        """Whether counting writes to the database (else to Redis)."""
        return isinstance(self.counters, DatabaseCounters)

    def state(self, db: Session, policy: Policy, subject: str) -> CounterState:
        return self.counters.state(db, f"{policy.name}:{subject}")

    def check(
        self, db: Session, policy: Policy, subject: str, state: CounterState | None = None
    ) -> None:
        """Raise TooManyAttempts while `subject` waits out a delay. `state`: the counter as
        the caller just read it (one read for both its own test and this one)."""
        if state is None:
            state = self.counters.state(db, f"{policy.name}:{subject}")
        now = self._clock.now()
        if state.blocked_until is not None and state.blocked_until > now:
            count_throttled(policy.name)
            raise TooManyAttempts(math.ceil((state.blocked_until - now).total_seconds()))

    def failures(self, db: Session, policy: Policy, subject: str) -> int:
        return self.counters.state(db, f"{policy.name}:{subject}").failures

    def record_failure(self, db: Session, policy: Policy, subject: str) -> int:
        key = f"{policy.name}:{subject}"
        failures = self.counters.add_failure(db, key, policy.window)
        delay = policy.delay_after(failures)
        if delay is not None:
            self.counters.block(db, key, self._clock.now() + delay)
        return failures

    def clear(self, db: Session, policy: Policy, subject: str) -> None:
        self.counters.clear(db, f"{policy.name}:{subject}")

    def reserve(self, db: Session, policy: Policy, subject: str) -> int:
        """Count this attempt as a failure before checking it, or raise TooManyAttempts
        while `subject` waits: of a burst sent at once, exactly the free tries get through,
        on every store and across instances. Returns the failures counted so far, this one
        included. The caller commits before the slow work (the hash), then on success
        clears an account's counter or gives back a shared one's (`give_back`)."""
        key = f"{policy.name}:{subject}"
        reserved = self.counters.reserve(db, key, policy.window, _schedule(policy))
        if not reserved.counted:
            assert reserved.blocked_until is not None
            count_throttled(policy.name)
            wait = (reserved.blocked_until - self._clock.now()).total_seconds()
            raise TooManyAttempts(max(1, math.ceil(wait)))
        return reserved.failures

    def give_back(self, db: Session, policy: Policy, subject: str) -> None:
        """The reserved attempt succeeded: uncount it without clearing anyone else's."""
        self.counters.give_back(db, f"{policy.name}:{subject}", policy.free)

    def hold(self, db: Session, policy: Policy, subject: str) -> None:
        """Other requests holding `subject` wait until the caller's unit of work ends, so a
        burst sent at once cannot all pass a check made before the first failure counted.

        Only for a subject one person uses (an account), never a shared one (an IP).
        PostgreSQL: a transaction-scoped advisory lock, whichever store keeps the counters.
        SQLite runs one writer at a time: a burst of 20 was measured to get only the free
        tries there without it."""
        if db.get_bind().dialect.name != "postgresql":
            return
        name = hashlib.sha256(f"{policy.name}:{subject}".encode()).digest()
        db.execute(select(func.pg_advisory_xact_lock(int.from_bytes(name[:8], signed=True))))


@cache  # a Policy is frozen: equal policies share one schedule
def _schedule(policy: Policy) -> tuple[timedelta | None, ...]:
    """The delay after each failure count, far enough that the last entry holds for ever
    after (a doubling delay reaches any cap within 64 steps)."""
    length = max(policy.free, policy.lock_at or 0) + 64
    return tuple(policy.delay_after(failures) for failures in range(1, length + 1))


def make_counters(redis_url: str | None, clock: Clock) -> Counters:
    if redis_url:
        return RedisCounters(redis_url, clock)
    return DatabaseCounters(clock)


def reach_store(counters: Counters) -> None:
    """Raise unless the counters' store answers (for /readyz). Database counters live in
    the database, which /readyz checks anyway."""
    if isinstance(counters, RedisCounters):
        counters._redis.ping()
