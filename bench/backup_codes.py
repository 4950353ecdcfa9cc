"""Backup-code verification cost: flat in the number of accounts, one KDF in hash_only.

    .venv/bin/python bench/backup_codes.py                       # SQLite in a temp dir
    .venv/bin/python bench/backup_codes.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench

1. `viewable` mode: the time to spend one code with 1,000 and with 100,000 accounts in the
   database (10 codes each, so up to 1,000,000 code rows). A keyed digest found by a unique
   index should cost the same at both sizes.
2. `hash_only` mode: the time per attempt, and how many argon2id runs it takes, with sets of
   5, 10 and 20 codes. It must stay one KDF whatever the set size.
"""

from __future__ import annotations

import argparse
import contextlib
import secrets
import statistics
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, insert, text

import mamori.backup_codes.service as service
from mamori.accounts.models import User
from mamori.accounts.passwords import PasswordHasher
from mamori.audit.service import Origin
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.bootstrap import build_context
from mamori.context import Context
from mamori.core.clock import SystemClock
from mamori.core.errors import InvalidCode
from mamori.core.migrate import upgrade
from mamori.settings import Settings

ORIGIN = Origin(ip="127.0.0.1", user_agent="bench")
BATCH = 5_000


@contextlib.contextmanager
def fresh_context(url: str | None, **settings: object) -> Iterator[Context]:
    """A context over an empty, migrated database: a temp SQLite file, or a schema of its
    own in the given PostgreSQL database (dropped afterwards; nothing else is touched)."""
    with tempfile.TemporaryDirectory() as data_dir:
        schema = f"mamori_bench_{secrets.token_hex(4)}"
        admin = create_engine(url) if url else None
        if admin is not None:
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            joiner = "&" if "?" in (url or "") else "?"
            url = f"{url}{joiner}options=-csearch_path%3D{schema}"
        ctx = build_context(
            Settings.model_validate({"data_dir": Path(data_dir), "database_url": url, **settings}),
            SystemClock(),
        )
        try:
            upgrade(ctx.database.engine)
            yield ctx
        finally:
            if admin is not None:
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


def add_accounts(ctx: Context, count: int, codes_per_set: int) -> dict[int, list[str]]:
    """Accounts with a viewable set each, written in bulk (a password hash per account
    would take an hour at 100,000; the hash is not what is measured)."""
    now = ctx.clock.now()
    dummy_hash = PasswordHasher(ctx.settings).hash("bench password")
    codes: dict[int, list[str]] = {}
    with ctx.database.engine.begin() as connection:
        for start in range(1, count + 1, BATCH):
            ids = range(start, min(start + BATCH, count + 1))
            connection.execute(
                insert(User),
                [
                    {
                        "id": i,
                        "username": f"bench{i}",
                        "username_key": f"bench{i}",
                        "password_hash": dummy_hash,
                        "password_changed_at": now,
                        "locale": "en",
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            connection.execute(
                insert(BackupCodeSet),
                [
                    {"id": i, "user_id": i, "mode": "viewable", "digits": 8, "created_at": now}
                    for i in ids
                ],
            )
            rows = []
            for i in ids:
                codes[i] = service._new_codes(codes_per_set, 8)
                for position, code in enumerate(codes[i]):
                    rows.append(
                        {
                            "set_id": i,
                            "position": position,
                            "digest": ctx.keyring.keyed_digest("backup-code", str(i), code),
                            "sealed": ctx.keyring.seal(code, f"backup-code:{i}:{i}"),
                        }
                    )
            connection.execute(insert(BackupCode), rows)
        if ctx.database.engine.dialect.name == "postgresql":
            connection.execute(text("ANALYZE"))
            for table in ("users", "backup_code_sets"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                    {"n": count},
                )
    return codes


def timed_spend(ctx: Context, user_id: int, typed: str) -> float:
    """Milliseconds for one login-time attempt, as the login challenge makes it."""
    started = time.perf_counter()
    with contextlib.suppress(InvalidCode), ctx.database.session() as db:
        user = db.get(User, user_id)
        assert user is not None
        service.use_backup_code(db, ctx, ORIGIN, user, typed)
    return (time.perf_counter() - started) * 1000


def summary(samples: list[float]) -> str:
    samples = sorted(samples)
    p95 = samples[int(len(samples) * 0.95) - 1]
    return f"median {statistics.median(samples):6.2f} ms   p95 {p95:6.2f} ms"


def bench_accounts(url: str | None, sizes: list[int], attempts: int) -> None:
    print("viewable mode: spending one code (right code, then a wrong one)")
    for size in sizes:
        with fresh_context(url, backup_codes_mode="viewable") as ctx:
            started = time.perf_counter()
            codes = add_accounts(ctx, size, 10)
            filled = time.perf_counter() - started
            users = [secrets.randbelow(size) + 1 for _ in range(attempts)]
            for user_id in users[:20]:  # warm the caches and the connection pool
                timed_spend(ctx, user_id, "0000 0000")
            right = [timed_spend(ctx, u, codes[u].pop()) for u in users]
            wrong = [timed_spend(ctx, u, "0000 0000") for u in users]
            print(
                f"  {size:>7,} accounts ({size * 10:>9,} codes, filled in {filled:5.1f} s)\n"
                f"      right code: {summary(right)}\n"
                f"      wrong code: {summary(wrong)}"
            )


def bench_hash_only(url: str | None, set_sizes: list[int], attempts: int) -> None:
    print("hash_only mode: one attempt (wrong code) per set size")
    calls = 0
    # Counted where the service calls it (set by name: mypy sees no export to assign to).
    kdf = "hash_secret_raw"
    real = getattr(service, kdf)

    def counting(*args: Any, **kwargs: Any) -> bytes:
        nonlocal calls
        calls += 1
        digest: bytes = real(*args, **kwargs)
        return digest

    setattr(service, kdf, counting)
    try:
        for size in set_sizes:
            with fresh_context(url, backup_codes_mode="hash_only", backup_codes_count=size) as ctx:
                with ctx.database.session() as db:
                    user = User(
                        username="bench",
                        username_key="bench",
                        password_hash="-",
                        password_changed_at=ctx.clock.now(),
                        locale="en",
                        created_at=ctx.clock.now(),
                    )
                    db.add(user)
                    db.flush()
                    user_id = user.id
                    codes = service.generate_backup_codes(db, ctx, ORIGIN, user)
                calls = 0
                wrong = [timed_spend(ctx, user_id, "0000 0000") for _ in range(attempts)]
                per_wrong = calls / attempts
                calls = 0
                right = [timed_spend(ctx, user_id, code) for code in codes]
                per_right = calls / len(codes)
                print(
                    f"  set of {size:>2}: wrong {summary(wrong)}   KDF runs per attempt "
                    f"{per_wrong:.0f}\n"
                    f"             right {summary(right)}   KDF runs per attempt {per_right:.0f}"
                )
    finally:
        setattr(service, kdf, real)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="PostgreSQL URL; default: SQLite in a temp dir")
    parser.add_argument("--accounts", type=int, nargs="+", default=[1_000, 100_000])
    parser.add_argument("--set-sizes", type=int, nargs="+", default=[5, 10, 20])
    parser.add_argument("--attempts", type=int, default=200)
    args = parser.parse_args()
    print(f"database: {args.database_url or 'SQLite (temp dir)'}")
    bench_accounts(args.database_url, args.accounts, args.attempts)
    bench_hash_only(args.database_url, args.set_sizes, min(args.attempts, 30))


if __name__ == "__main__":
    main()
