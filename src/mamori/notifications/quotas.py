"""Send quotas: a message's slot is reserved, atomically, before the message is written.

A quota is one row per policy and subject: `sends` in the window ending at
`window_ends_at`, and `next_send_at`, before which no other may go (the wait between two
resends). A send reserves a slot in every quota it counts against with one conditional
upsert each ("window over, or fewer than `limit` and past `next_send_at`"), all in one
transaction, before anything is sent: of twenty requests at once, on any number of
instances, one finds the slot and the others 429 with Retry-After. A refused
reservation reserves nothing.

PostgreSQL: the reservation commits in its own short transaction, so the rows (the
global SMS cap among them) stay locked for a statement, not for a request that hands a
code to the SMS provider; a send that then fails still counts, as it should (a provider
that timed out may have texted). That transaction runs on a small pool of its own: a
request already holds a connection of the main pool, and were it to wait for a second
one there, a burst that took every connection would wait on itself. SQLite: in the
caller's transaction, in a savepoint: BEGIN IMMEDIATE already makes it the one writer,
and a second connection would wait on the caller's own write lock.

Quotas live in the database whether or not Redis keeps the failure counters: one
transaction makes a reservation all or nothing.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from weakref import WeakKeyDictionary

from sqlalchemy import (
    Connection,
    Engine,
    Integer,
    String,
    and_,
    case,
    create_engine,
    event,
    or_,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from mamori.core.clock import Clock
from mamori.core.crypto import Keyring
from mamori.core.db import CONNECT_TIMEOUT_SECONDS, Base, UTCDateTime
from mamori.core.errors import TooManyAttempts
from mamori.core.metrics import count_throttled
from mamori.settings import Settings


class SendQuotaRow(Base):
    __tablename__ = "send_quotas"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    sends: Mapped[int] = mapped_column(Integer)
    window_ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_send_at: Mapped[datetime] = mapped_column(UTCDateTime())


@dataclass(frozen=True)
class SendQuota:
    """`limit` sends per `window`, `cooldown` between two; once full, the window starts
    again from the last send, so the wait is a whole window."""

    name: str
    window: timedelta
    limit: int
    cooldown: timedelta = timedelta(0)


Slot = tuple[SendQuota, str]  # a quota and its subject (a digest, an IP, "all")


def sms_cap(settings: Settings) -> SendQuota:
    return SendQuota("sms-send-all", timedelta(hours=1), settings.sms_sends_per_hour)


def sms_alert_number(settings: Settings) -> SendQuota:
    # Alerts have their own budget per number: alerts someone else causes must not use
    # up the owner's security codes (those count in codes' per-destination quota).
    return SendQuota(
        "sms-alert-number", timedelta(hours=1), settings.security_code_sends_per_destination_hour
    )


def sms_slots(settings: Settings, keyring: Keyring, to: str, kind: str) -> list[Slot]:
    """What every text message counts against: the hourly cap of all SMS together and,
    for an alert, its number's hourly limit."""
    slots: list[Slot] = [(sms_cap(settings), "all")]
    if kind != "code":
        number = keyring.keyed_digest("throttle-sms-number", to)[:32]
        slots.append((sms_alert_number(settings), number))
    return slots


def reserve_sends(db: Session, clock: Clock, slots: Sequence[Slot]) -> None:
    """Take one send from every quota in `slots`, or none: raise TooManyAttempts (with
    the seconds until the refusing quota frees) when any of them is used up or waiting."""
    ordered = sorted(set(slots), key=lambda slot: _key(*slot))  # one lock order: no deadlock
    bind = db.get_bind()
    if bind.dialect.name == "postgresql" and isinstance(bind, Engine):
        with _reservations_pool(bind).begin() as connection:
            _reserve_all(connection, "postgresql", clock, ordered)
        return
    with db.begin_nested():
        _reserve_all(db, bind.dialect.name, clock, ordered)
    db.expire_all()  # the upserts bypassed the identity map


_POOLS: WeakKeyDictionary[Engine, Engine] = WeakKeyDictionary()
_POOLS_LOCK = threading.Lock()


def _reservations_pool(engine: Engine) -> Engine:
    with _POOLS_LOCK:
        pool = _POOLS.get(engine)
        if pool is None:
            url = engine.url
            timeout = (
                {}
                if "connect_timeout" in url.query
                else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
            )
            pool = create_engine(
                url, pool_size=2, max_overflow=8, pool_pre_ping=True, connect_args=timeout
            )
            _POOLS[engine] = pool
            event.listen(engine, "engine_disposed", lambda _: pool.dispose())
        return pool


def _reserve_all(
    executor: Connection | Session, dialect_name: str, clock: Clock, slots: Sequence[Slot]
) -> None:
    now = clock.now()
    for quota, subject in slots:
        if not _reserve(executor, dialect_name, now, quota, _key(quota, subject)):
            count_throttled(quota.name)
            # Raising rolls back this transaction (or savepoint): nothing was reserved.
            raise TooManyAttempts(_seconds_until_free(executor, now, quota, _key(quota, subject)))


def _reserve(
    executor: Connection | Session, dialect_name: str, now: datetime, quota: SendQuota, key: str
) -> bool:
    row = SendQuotaRow
    dialect = postgresql if dialect_name == "postgresql" else sqlite
    over = row.window_ends_at <= now
    full_after_this = row.sends + 1 >= quota.limit
    statement = (
        dialect.insert(row)
        .values(
            key=key,
            sends=1,
            window_ends_at=now + quota.window,
            next_send_at=now + quota.cooldown,
        )
        .on_conflict_do_update(
            index_elements=[row.key],
            set_={
                "sends": case((over, 1), else_=row.sends + 1),
                "window_ends_at": case(
                    (or_(over, full_after_this), now + quota.window), else_=row.window_ends_at
                ),
                "next_send_at": now + quota.cooldown,
            },
            where=or_(over, and_(row.sends < quota.limit, row.next_send_at <= now)),
        )
        .returning(row.sends)
    )
    return executor.execute(statement).first() is not None


def _seconds_until_free(
    executor: Connection | Session, now: datetime, quota: SendQuota, key: str
) -> int:
    found = executor.execute(
        select(SendQuotaRow.sends, SendQuotaRow.window_ends_at, SendQuotaRow.next_send_at).where(
            SendQuotaRow.key == key
        )
    ).first()
    if found is None:
        return 1
    sends, window_ends_at, next_send_at = found
    free_at = window_ends_at if sends >= quota.limit else next_send_at
    return max(1, math.ceil((free_at - now).total_seconds()))


def _key(quota: SendQuota, subject: str) -> str:
    return f"{quota.name}:{subject}"[:200]
