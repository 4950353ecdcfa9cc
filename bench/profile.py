"""What a request costs besides its hash: SQL statements and CPU, deterministic and in process.

    .venv/bin/python -m bench.profile                       # SQLite, statements and CPU
    .venv/bin/python -m bench.profile --database postgresql --top 30

Builds mamori's app in this process on a fresh database (bench.server prepares it),
seeds a few accounts (bench.seed), and drives the API through the ASGI interface with no
network. For each row of the peer comparison it reports the SQL statements per operation
(counted by a SQLAlchemy event, by kind: SELECT / INSERT / UPDATE / DELETE / BEGIN …) and
the CPU per operation with the argon2id verification taken out, and, with --top, the
functions where that CPU goes (cProfile, cumulative).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import dataclasses
import io
import json
import pstats
import time
from collections import Counter
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from sqlalchemy import event

from bench.seed import Accounts, seed_accounts
from bench.server import MamoriServer
from mamori.totp.service import STEP_SECONDS, code_at


class Statements:
    """Every statement the engine sends, by its first word."""

    def __init__(self, engine: Any) -> None:
        self.kinds: Counter[str] = Counter()
        self.texts: list[str] = []
        self.recording = False
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if self.recording:
            self.kinds[statement.split(None, 1)[0].upper()] += 1
            self.texts.append(" ".join(statement.split())[:160])

    def reset(self) -> None:
        self.kinds.clear()
        self.texts.clear()


class AsgiClient:
    """Just enough of an HTTP client over the ASGI interface (no sockets, no threads
    beyond the ones the app itself uses)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.loop = asyncio.new_event_loop()

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        return self.loop.run_until_complete(self._request(method, path, body, headers or {}))

    async def _request(
        self, method: str, path: str, body: Any, headers: dict[str, str]
    ) -> tuple[int, Any]:
        data = json.dumps(body).encode() if body is not None else b""
        raw = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        raw += [(b"accept", b"application/json"), (b"user-agent", b"bench")]
        if body is not None:
            raw += [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(data))]
        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 80),
        }
        sent = False
        status = 0
        chunks: list[bytes] = []

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.sleep(3600)
            sent = True
            return {"type": "http.request", "body": data, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        text = b"".join(chunks)
        return status, json.loads(text) if text else None


def _login(client: AsgiClient, accounts: Accounts, user_id: int) -> dict[str, Any]:
    status, answer = client.request(
        "POST",
        "/api/v1/login",
        {"login": accounts.username(user_id), "password": accounts.password},
    )
    assert status == 200, (status, answer)
    return dict(answer)


def operations(
    client: AsgiClient, plain: Accounts, totp: Accounts, codes: Accounts
) -> dict[str, Callable[[int], None]]:
    def password_login(n: int) -> None:
        assert _login(client, plain, plain.user_id(n))["status"] == "authenticated"

    def totp_login(n: int) -> None:
        user_id = totp.user_id(n)
        challenge = _login(client, totp, user_id)["challenge"]
        # A step is accepted once per account: each operation uses another account.
        code = code_at(totp.totp_secret(user_id), int(time.time()) // STEP_SECONDS)
        status, answer = client.request(
            "POST", f"/api/v1/login/{challenge}/verify", {"method": "totp", "code": code}
        )
        assert status == 200, answer

    def backup_code_login(n: int) -> None:
        user_id = codes.user_id(n)
        challenge = _login(client, codes, user_id)["challenge"]
        code = codes.backup_code(user_id, n // codes.count)
        status, answer = client.request(
            "POST",
            f"/api/v1/login/{challenge}/verify",
            {"method": "backup_code", "code": code},
        )
        assert status == 200, answer

    def who_am_i(n: int) -> None:
        token = plain.session_token(plain.user_id(n))
        status, answer = client.request(
            "GET", "/api/v1/me", headers={"authorization": f"Bearer {token}"}
        )
        assert status == 200, answer

    return {
        "password login": password_login,
        "login with TOTP": totp_login,
        "login with backup code": backup_code_login,
        "who am i": who_am_i,
    }


def _hash_cpu(ctx: Any, rounds: int = 20) -> float:
    """CPU seconds of one argon2id verification by mamori's hasher, here and now."""
    stored = ctx.hasher.hash("bench")
    started = time.process_time()
    for _ in range(rounds):
        ctx.hasher.verify(stored, "bench")
    return (time.process_time() - started) / rounds


def _argon2_seconds(profile: pstats.Stats) -> float:
    """Time inside argon2's C verify, which is the hash, not the request's overhead."""
    total = 0.0
    for (filename, _, name), row in profile.stats.items():  # type: ignore[attr-defined]
        if name == "verify_secret" or (name == "verify" and "argon2/_password_hasher" in filename):
            total = max(total, row[3])
    return total


def _inline_threads() -> None:
    """Run what the app sends to its thread pool inline, so cProfile (which follows one
    thread) sees the routes, their dependencies and the hash."""
    import anyio.to_thread

    async def run_sync(func: Callable[..., Any], *args: Any, **_: Any) -> Any:
        return func(*args)

    anyio.to_thread.run_sync = run_sync  # type: ignore[assignment]


def _hashing(ctx: Any, cheap: bool) -> Any:
    """The context as is, or with argon2id at its cheapest (t=1, 8 KiB), so that what a
    request costs besides the hash is measured directly rather than as a difference."""
    if not cheap:
        return ctx
    from mamori.core.passwords import PasswordHasher

    cost = SimpleNamespace(argon2_time_cost=1, argon2_memory_kib=8, argon2_parallelism=1)
    return dataclasses.replace(ctx, hasher=PasswordHasher(cost))


def measure(
    database: str,
    *,
    operations_each: int,
    top: int,
    sort: str = "cumulative",
    cheap_hash: bool = False,
) -> dict[str, Any]:
    from mamori.app import create_app

    _inline_threads()

    results: dict[str, Any] = {"database": database, "rows": {}}
    with MamoriServer(database) as server:
        ctx = _hashing(server.context(), cheap_hash)
        each = operations_each + 5
        plain = seed_accounts(ctx, each, sessions=True)
        # Separate account ranges would need offsets; three servers' worth of seeding is
        # simpler: the seed writes ids from 1, so the two-factor accounts get their own
        # database below.
        app = create_app(context=ctx)
        client = AsgiClient(app)
        statements = Statements(ctx.database.engine)
        with MamoriServer(database) as second, MamoriServer(database) as third:
            totp_ctx = _hashing(second.context(), cheap_hash)
            codes_ctx = _hashing(third.context(), cheap_hash)
            totp = seed_accounts(totp_ctx, each, totp=True)
            codes = seed_accounts(codes_ctx, each, totp=True, backup_codes=10)
            apps = {
                "password login": (client, statements),
                "who am i": (client, statements),
                "login with TOTP": (
                    AsgiClient(create_app(context=totp_ctx)),
                    Statements(totp_ctx.database.engine),
                ),
                "login with backup code": (
                    AsgiClient(create_app(context=codes_ctx)),
                    Statements(codes_ctx.database.engine),
                ),
            }
            for row, (row_client, counter) in apps.items():
                run = operations(row_client, plain, totp, codes)[row]
                run(0)  # warm: imports, pools, caches
                counter.reset()
                counter.recording = True
                run(1)
                counter.recording = False
                one = dict(counter.kinds)
                texts = list(counter.texts)
                # CPU without the profiler first (it inflates Python-heavy code), then
                # again under it to find where the time goes and how much is argon2id.
                half = operations_each // 2
                cpu = time.process_time()
                for n in range(2, 2 + half):
                    run(n)
                cpu = (time.process_time() - cpu) * operations_each / half
                profiler = cProfile.Profile(time.process_time)
                profiled = time.process_time()
                profiler.enable()
                for n in range(2 + half, 2 + operations_each):
                    run(n)
                profiler.disable()
                profiled = time.process_time() - profiled
                stats = pstats.Stats(profiler)
                hashing = _argon2_seconds(stats) and _hash_cpu(ctx) * operations_each
                results["rows"][row] = {
                    "statements": sum(v for k, v in one.items() if k not in ("BEGIN", "COMMIT")),
                    "by_kind": one,
                    "texts": texts,
                    "cpu_ms": cpu * 1000 / operations_each,
                    "hash_ms": hashing * 1000 / operations_each,
                    "cpu_ms_without_hash": (cpu - hashing) * 1000 / operations_each,
                }
                if top:
                    out = io.StringIO()
                    stats.stream = out  # type: ignore[attr-defined]
                    stats.sort_stats(sort).print_stats(top)
                    results["rows"][row]["profile"] = out.getvalue()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="sqlite")
    parser.add_argument("--operations", type=int, default=40)
    parser.add_argument("--top", type=int, default=0, help="print the N costliest functions")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: tottime, …")
    parser.add_argument("--sql", action="store_true", help="print each statement of one op")
    parser.add_argument(
        "--cheap-hash",
        action="store_true",
        help="argon2id at t=1, 8 KiB: the CPU figure is then all overhead",
    )
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        found = measure(
            kind,
            operations_each=args.operations,
            top=args.top,
            sort=args.sort,
            cheap_hash=args.cheap_hash,
        )
        for row, figures in found["rows"].items():
            print(
                f"[{kind}] {row}: {figures['statements']} statements {figures['by_kind']}, "
                f"{figures['cpu_ms']:.2f} ms CPU, of which argon2id "
                f"{figures['hash_ms']:.2f} ms: {figures['cpu_ms_without_hash']:.2f} ms besides"
            )
            if args.sql:
                for text in figures["texts"]:
                    print("    " + text)
            if args.top:
                print(figures["profile"])


if __name__ == "__main__":
    main()
