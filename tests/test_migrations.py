"""`alembic upgrade head` builds exactly the tables the code declares, on both databases.

A migration that forgets a column, an index or a constraint fails here with the list of
differences (alembic's autogenerate comparison), so it never reaches an operator.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from pprint import pformat

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, text

from mamori.core.db import Database
from mamori.core.migrate import alembic_config, upgrade
from mamori.models import Base
from tests.conftest import POSTGRES_URL, postgres_url, skip_or_fail


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
        yield database
        database.engine.dispose()
        return
    if not POSTGRES_URL:
        skip_or_fail("PostgreSQL variant: set MAMORI_TEST_DATABASE_URL to run it")
    schema = f"mamori_migrations_{secrets.token_hex(4)}"
    admin = Database(POSTGRES_URL)
    with admin.engine.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(postgres_url(schema))
    yield database
    database.engine.dispose()
    with admin.engine.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.engine.dispose()


def differences(database: Database) -> list[object]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, Base.metadata))


def test_upgrade_head_gives_exactly_the_declared_schema(empty_database):
    upgrade(empty_database.engine)

    found = differences(empty_database)

    assert not found, "migrations and models differ:\n" + pformat(found)


def test_upgrade_is_a_no_op_the_second_time(empty_database):
    upgrade(empty_database.engine)
    upgrade(empty_database.engine)

    assert not differences(empty_database)


def test_downgrade_to_nothing_and_up_again(empty_database):
    """An operator rolling back a release must get a working database, not a half one."""
    url = empty_database.engine.url.render_as_string(hide_password=False)
    upgrade(empty_database.engine)

    with empty_database.engine.begin() as connection:
        config = alembic_config(url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    left = set(inspect(empty_database.engine).get_table_names()) - {"alembic_version"}
    upgrade(empty_database.engine)

    assert left == set()
    assert not differences(empty_database)


def test_every_revision_has_one_parent_so_there_is_one_head():
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))

    heads = scripts.get_heads()

    assert len(heads) == 1, f"several heads {heads}: two migrations claim the same parent"


def test_the_audit_log_triggers_are_installed(empty_database):
    upgrade(empty_database.engine)

    with empty_database.engine.connect() as connection:
        if empty_database.is_sqlite:
            query = "SELECT name FROM sqlite_master WHERE type = 'trigger'"
        else:
            query = (
                "SELECT trigger_name FROM information_schema.triggers "
                "WHERE event_object_table = 'audit_events' AND trigger_schema = current_schema()"
            )
        triggers = {row[0] for row in connection.execute(text(query))}

    assert any("audit_events" in name for name in triggers), triggers


def test_migration_files_sort_in_the_order_they_run():
    """A reader lists the folder and reads the history in order. Revision ids stay as they
    were (databases record them), so the file name's number is the run position instead."""
    scripts = ScriptDirectory.from_config(alembic_config("sqlite://"))
    run_order = [Path(s.path).name for s in reversed(list(scripts.walk_revisions()))]
    assert run_order == sorted(run_order)
    assert [name[:2] for name in run_order] == [f"{n:02}" for n in range(1, len(run_order) + 1)]
