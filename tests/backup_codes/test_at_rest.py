"""A database dump alone reveals no backup code, in either mode, on either database."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from sqlalchemy import text

from mamori.accounts.models import User
from mamori.backup_codes import service
from mamori.context import Context
from mamori.sessions.models import LoginSession
from tests.backup_codes.helpers import ORIGIN, in_mode, make_codes, make_user, start

pytestmark = pytest.mark.both_databases


def notations(code: str) -> list[str]:
    digits = code.replace(" ", "")
    full_width = digits.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    return [digits, code, f"{digits[:4]}-{digits[4:]}", full_width]


def sqlite_dump(ctx: Context) -> str:
    path = Path(ctx.database.engine.url.database or "")
    ctx.database.engine.dispose()
    with sqlite3.connect(path) as connection:
        dumped = "\n".join(connection.iterdump())
    # The raw files too: a dump tool is not the only way to read a stolen disk.
    raw = b"".join(p.read_bytes() for p in path.parent.glob(f"{path.name}*"))
    return dumped + "\n" + raw.decode("utf-8", "replace")


def postgres_dump(ctx: Context) -> str:
    url = ctx.database.engine.url
    with ctx.database.engine.connect() as connection:
        schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    if shutil.which("pg_dump"):
        plain = url.set(drivername="postgresql").set(query={})
        result = subprocess.run(
            ["pg_dump", "--no-owner", f"--schema={schema}", plain.render_as_string(False)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode == 0:
            return result.stdout
    with ctx.database.engine.connect() as connection:
        tables = connection.execute(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :s"),
            {"s": schema},
        ).scalars()
        return "\n".join(
            str(row[0])
            for table in list(tables)
            for row in connection.execute(text(f'SELECT t::text FROM "{table}" t'))
        )


@pytest.mark.parametrize("mode", ["viewable", "hash_only"])
def test_no_code_appears_anywhere_in_a_database_dump(ctx, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    first = make_codes(ctx, user_id)
    session_id, _ = start(ctx, user_id)
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        service.use_backup_code(db, ctx, ORIGIN, user, first[0])
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        login = db.get(LoginSession, session_id)
        current = service.regenerate_backup_codes(db, ctx, ORIGIN, user, login)
        service.use_backup_code(db, ctx, ORIGIN, user, current[1])
        service.view_backup_codes(db, ctx, ORIGIN, user, login)

    dump = sqlite_dump(ctx) if ctx.database.is_sqlite else postgres_dump(ctx)

    assert "backup_codes" in dump and "hana" in dump  # the dump did capture the data
    for code in first + current:
        for written in notations(code):
            assert written not in dump, f"{written!r} is readable in the dump"
