"""Settings, storage and the context, built in one place for the app and every CLI."""

from __future__ import annotations

from mamori.context import Context
from mamori.core.clock import Clock, SystemClock
from mamori.core.crypto import load_or_create_keyring
from mamori.core.db import Database
from mamori.core.migrate import upgrade
from mamori.core.passwords import PasswordHasher
from mamori.core.throttle import Throttle, make_counters
from mamori.settings import Settings


def prepare_storage(settings: Settings) -> Database:
    """Data directory, secrets (mode 0600) and schema: what every start needs."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    load_or_create_keyring(settings.resolved_secrets_file)
    database = Database(settings.resolved_database_url)
    upgrade(database.engine)
    return database


def build_context(settings: Settings, clock: Clock | None = None) -> Context:
    clock = clock or SystemClock()
    database = Database(settings.resolved_database_url)
    keyring = load_or_create_keyring(settings.resolved_secrets_file)
    return Context(
        settings=settings,
        clock=clock,
        database=database,
        keyring=keyring,
        hasher=PasswordHasher(settings),
        throttle=Throttle(make_counters(settings.redis_url, clock), clock),
    )


def context_from_environment(settings: Settings) -> Context:
    """What commands that act like the server need: the same context `serve` builds."""
    prepare_storage(settings).engine.dispose()
    return build_context(settings)
