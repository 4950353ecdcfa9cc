"""What every instance on one database must agree on, recorded in that database.

Today one fact: where the failure counters live. An instance with Redis and one without,
on the same database, each count only their own failures: 16 second-factor guesses in
75 s instead of 8, the 100-failure lock at 200. So the first start records the store, and
a start configured with another one refuses until an operator switches on purpose.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import String
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, Session, mapped_column

from mamori.core.clock import Clock
from mamori.core.db import Base, UTCDateTime

THROTTLE_STORE = "throttle_store"
IN_THE_DATABASE = "the database"


class DeploymentFact(Base):
    __tablename__ = "deployment_facts"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(300))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ThrottleStoreMismatch(Exception):
    """This instance would keep failure counters apart from the others on its database."""

    def __init__(self, recorded: str, configured: str) -> None:
        super().__init__(f"recorded {recorded}, configured {configured}")
        self.recorded = recorded
        self.configured = configured


def throttle_store(redis_url: str | None) -> str:
    """Where counters live, named without credentials: "the database" or
    "redis://host:port/db" (a unix socket: "unix:///path/db")."""
    if not redis_url:
        return IN_THE_DATABASE
    parts = urlsplit(redis_url)
    database = parts.path.strip("/") if parts.scheme != "unix" else ""
    database = database or parse_qs(parts.query).get("db", ["0"])[0]
    if parts.scheme == "unix":
        return f"unix://{parts.path}/{database}"
    return f"{parts.scheme}://{parts.hostname}:{parts.port or 6379}/{database}"


def agree_on_throttle_store(db: Session, clock: Clock, configured: str) -> None:
    """Record `configured` if no instance did yet; raise ThrottleStoreMismatch if another
    store is recorded. Two first starts at once: one insert wins, the other compares."""
    dialect = postgresql if db.get_bind().dialect.name == "postgresql" else sqlite
    db.execute(
        dialect.insert(DeploymentFact)
        .values(name=THROTTLE_STORE, value=configured, recorded_at=clock.now())
        .on_conflict_do_nothing(index_elements=[DeploymentFact.name])
    )
    recorded = db.get(DeploymentFact, THROTTLE_STORE, populate_existing=True)
    assert recorded is not None
    if recorded.value != configured:
        raise ThrottleStoreMismatch(recorded.value, configured)


def switch_throttle_store(db: Session, clock: Clock, configured: str) -> str | None:
    """Record `configured` as the store every instance must use; returns the one before."""
    fact = db.get(DeploymentFact, THROTTLE_STORE)
    before = fact.value if fact else None
    if fact is None:
        db.add(DeploymentFact(name=THROTTLE_STORE, value=configured, recorded_at=clock.now()))
    else:
        fact.value, fact.recorded_at = configured, clock.now()
    return before
