"""Database engine, sessions and the declarative base shared by every feature."""

from __future__ import annotations

import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Connection,
    CursorResult,
    DateTime,
    Engine,
    MetaData,
    create_engine,
    event,
    make_url,
)
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

from mamori.core.clock import as_utc
from mamori.core.errors import MamoriError

CONNECT_TIMEOUT_SECONDS = 5
# How long a SQLite writer waits for the write lock before "database is locked".
BUSY_TIMEOUT_SECONDS = 10

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return as_utc(value) if value is not None else None


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def changed_one(result: object) -> bool:
    """True when a conditional UPDATE (or DELETE) changed exactly one row: the request that
    made it won the race; any other count means someone else came first."""
    return cast(CursorResult[Any], result).rowcount == 1


def _sqlite_pragmas(dbapi_connection: DBAPIConnection, _record: ConnectionPoolEntry) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# How a SQLite transaction begins, as a connection execution option: IMMEDIATE (the write
# lock up front) unless the unit of work only reads.
SQLITE_BEGIN = "mamori_sqlite_begin"


# Set on a pooled connection (its info) while it holds its process's writer turn.
_TURN = "mamori_writer_turn"


class WriterTurns:
    """How SQLite writers wait for the write lock: one per process at a time, waiting in
    line here, and that one asking SQLite again every fraction of a millisecond.

    SQLite's own busy handler polls with sleeps growing to 100 ms: with dozens of threads
    after one lock, a writer's wait came in whole sleeps, and one process's writers,
    handing the lock to each other, starved the other's (a login's p99 was 0.8 s, its
    slowest 3 s, on 2 workers; 0.3 s on PostgreSQL). Bounded like the busy timeout: after
    BUSY_TIMEOUT_SECONDS the error is SQLite's "database is locked", as before."""

    def __init__(self) -> None:
        self._lock = threading.Lock()

    def begin(self, conn: Connection) -> None:
        """IMMEDIATE takes the write lock up front, so a conditional UPDATE never races a
        reader upgrading to writer (which WAL refuses with SQLITE_BUSY_SNAPSHOT, without a
        retry). DEFERRED is for units of work that only read: no lock, no wait on writers."""
        if conn.get_execution_options().get(SQLITE_BEGIN) == "DEFERRED":
            conn.exec_driver_sql("BEGIN DEFERRED")
            return
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        # A thread that already holds a turn on another connection goes on after the
        # wait, to SQLite's busy timeout and its error, as it would without turns.
        if self._lock.acquire(timeout=BUSY_TIMEOUT_SECONDS):
            conn.info[_TURN] = True
        try:
            _begin_immediate(conn.connection.dbapi_connection, deadline)
        except BaseException:
            self.end(conn.info)
            raise

    def end(self, info: dict[Any, Any]) -> None:
        if info.pop(_TURN, False):
            self._lock.release()


def _begin_immediate(dbapi: Any, deadline: float) -> None:
    """BEGIN IMMEDIATE, asked again every 0.2 ms to 2 ms while another process writes."""
    pause = 0.0002
    dbapi.execute("PRAGMA busy_timeout=0")
    try:
        while True:
            try:
                dbapi.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as error:
                if "locked" not in str(error) or time.monotonic() > deadline:
                    raise
            time.sleep(pause)
            pause = min(pause * 1.5, 0.002)
    finally:
        dbapi.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_SECONDS * 1000}")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_SECONDS},
            pool_size=16,
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling is off (below); each transaction says how
        # it begins, and a writer's turn ends with its transaction, however it ends.
        turns = WriterTurns()
        event.listen(engine, "begin", turns.begin)
        event.listen(engine, "commit", lambda conn: turns.end(conn.info))
        event.listen(engine, "rollback", lambda conn: turns.end(conn.info))
        event.listen(engine.pool, "checkin", lambda _dbapi, record: turns.end(record.info))
        event.listen(engine.pool, "invalidate", lambda _dbapi, record, _e: turns.end(record.info))

        @event.listens_for(engine, "connect")
        def _no_implicit_begin(dbapi_connection: DBAPIConnection, _: ConnectionPoolEntry) -> None:
            dbapi_connection.isolation_level = None

        return engine
    # A database host that does not answer must cost a request seconds, not the kernel's
    # TCP timeout (minutes): the request gets a 503 and the next one tries again. An
    # operator's own connect_timeout in the URL wins.
    connect_args = (
        {}
        if "connect_timeout" in make_url(url).query
        else {"connect_timeout": CONNECT_TIMEOUT_SECONDS}
    )
    return create_engine(
        url, pool_pre_ping=True, pool_size=10, max_overflow=20, connect_args=connect_args
    )


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        # The same pool; on SQLite its transactions begin DEFERRED (reads only).
        self.reading_engine = self.engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        self.reading_sessions = sessionmaker(self.reading_engine, expire_on_commit=False)

    @contextmanager
    def session(self, *, read_only: bool = False) -> Iterator[Session]:
        """A unit of work: commits when the block ends cleanly, rolls back on a crash.

        A named MamoriError is an expected answer ("wrong password"), not a crash: what
        the service recorded before raising it (audit events, failure counts) is kept.
        Services therefore validate before they change anything else.

        `read_only`: the block only reads (on SQLite it takes no write lock, so it neither
        waits for writers nor holds them up). A write in it would have to upgrade the
        lock, which SQLite refuses while another writer has committed since: such work
        goes through `writing` or a unit of work of its own.
        """
        with (self.reading_sessions if read_only else self.sessions)() as db:
            db.begin()
            try:
                yield db
            except MamoriError:
                db.commit()
                raise
            except BaseException:
                db.rollback()
                raise
            db.commit()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"


_READING_ENGINES: weakref.WeakKeyDictionary[Engine, Engine] = weakref.WeakKeyDictionary()


def _reading_engine(engine: Engine) -> Engine:
    found = _READING_ENGINES.get(engine)
    if found is None:
        found = _READING_ENGINES[engine] = engine.execution_options(**{SQLITE_BEGIN: "DEFERRED"})
    return found


def writing_engine(db: Session) -> Engine:
    """The engine of this unit of work, beginning its transactions IMMEDIATE: for a write
    a read-only unit of work makes in a transaction of its own."""
    bind = db.get_bind()
    assert isinstance(bind, Engine)
    return bind.execution_options(**{SQLITE_BEGIN: "IMMEDIATE"})


def is_read_only(db: Session) -> bool:
    """True in a unit of work opened with `read_only=True` (see Database.session)."""
    bind = db.get_bind()
    return bool(bind.get_execution_options().get(SQLITE_BEGIN) == "DEFERRED")


@contextmanager
def reading(db: Session) -> Iterator[None]:
    """SQLite: run the block as a transaction of its own that only reads, begun DEFERRED,
    so reads made before slow work (a password hash) hold no write lock and wait for no
    writer; the transaction before it is committed first, the block's own ends with it.
    Nothing in the block may write. Elsewhere the block runs as it is."""
    bind = db.bind
    assert isinstance(bind, Engine)
    if bind.dialect.name != "sqlite":
        yield  # PostgreSQL reads take no lock anyway: no transaction of their own
        return
    db.commit()
    db.bind = _reading_engine(bind)
    try:
        yield
        db.commit()
    finally:
        db.bind = bind


@contextmanager
def kept_or_undone(db: Session, *, keep: bool) -> Iterator[None]:
    """Run the block in a savepoint, then keep it or roll it back.

    For work that must take as long whether or not it really happens (no enumeration):
    the path that does nothing does the same work and undoes it, as a withheld recovery
    code does (codes.sending._withhold). Nothing queued in an undone block is sent."""
    savepoint = db.begin_nested()
    try:
        yield
    except BaseException:
        savepoint.rollback()
        raise
    if keep:
        savepoint.commit()
    else:
        savepoint.rollback()
