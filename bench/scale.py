"""Cost at scale: backup-code verification and an authenticated request, 1,000 vs 1,000,000
accounts in PostgreSQL.

    .venv/bin/python -m bench.scale --sizes 1000 1000000 --seconds 10

For each size: a fresh database seeded in bulk (bench.seed: the accounts the load uses are
made with mamori's own crypto, the rest with INSERT ... SELECT generate_series, each with a
TOTP app, 10 backup codes and a session, so 1,000,000 accounts mean 10,000,000 code rows),
`mamori serve --workers 2`, then closed-loop load on:

- backup-code verification: POST /api/v1/login/{challenge}/verify with a backup code,
  against login challenges seeded open (the password step is argon2id, measured by
  bench.limit; here only the code check is timed);
- who am i: GET /api/v1/me with a session token.

It also records PostgreSQL's plans (EXPLAIN) for the lookups these make, to show each is
an index scan. The cost must stay flat: ratio 1M/1k of throughput ≈ 1.
"""

from __future__ import annotations

import argparse
import json
import time
from typing import Any

from sqlalchemy import text

from bench.loadgen import run_load
from bench.seed import seed_accounts
from bench.server import MamoriServer
from bench.workloads import BackupCodeVerify, WhoAmI

USABLE = 1_000  # accounts the load uses (made with mamori's crypto); the rest are filler
CODES = 10

PLANS = {
    "backup code by digest": (
        "SELECT backup_codes.id FROM backup_codes "
        "WHERE backup_codes.set_id = 17 AND backup_codes.digest = 'x'"
    ),
    "session by token digest": ("SELECT * FROM login_sessions WHERE token_digest = 'x'"),
    "challenge by token digest": ("SELECT * FROM login_challenges WHERE token_digest = 'x'"),
    "user by id": "SELECT * FROM users WHERE id = 17",
    "unused codes of a set": (
        "SELECT count(*) FROM backup_codes WHERE set_id = 17 AND used_at IS NULL"
    ),
}


def query_plans(server: MamoriServer) -> dict[str, str]:
    plans = {}
    with server.context().database.engine.connect() as connection:
        for name, sql in PLANS.items():
            rows = connection.execute(text(f"EXPLAIN {sql}")).scalars().all()
            plans[name] = " / ".join(str(row).strip() for row in rows)
    return plans


def measure_size(size: int, *, seconds: float, clients: int, log: Any = print) -> dict[str, Any]:
    usable = min(USABLE, size)
    with MamoriServer("postgresql", workers=2) as server:
        started = time.perf_counter()
        accounts = seed_accounts(
            server.context(),
            usable,
            totp=True,
            backup_codes=CODES,
            sessions=True,
            challenges=CODES,
            filler=size - usable,
            progress=lambda line: log(f"    {line}"),
        )
        seeded_in = time.perf_counter() - started
        server.start()
        plans = query_plans(server)
        results = {}
        # Each operation spends one code of one account: at most usable * CODES of them.
        verify = run_load(
            server.url,
            BackupCodeVerify(accounts, CODES),
            clients=clients,
            seconds=seconds,
            max_ops=usable * CODES,
        )
        results["backup-code verification"] = verify.to_dict()
        who = run_load(server.url, WhoAmI(accounts), clients=clients, seconds=seconds)
        results["who am i"] = who.to_dict()
        log(f"  {size:>9,} accounts (seeded in {seeded_in:.0f} s)")
        for result in (verify, who):
            log(f"    {result.line()}")
        if verify.ops + verify.errors >= usable * CODES:
            log("    (backup-code verification ran out of codes before the time was up)")
    return {"accounts": size, "seed_seconds": seeded_in, "results": results, "plans": plans}


def flatness(small: dict[str, Any], large: dict[str, Any]) -> dict[str, dict[str, float]]:
    """large/small ratios per workload: throughput ≈ 1 and latency ≈ 1 when flat."""
    ratios = {}
    for name, at_small in small["results"].items():
        at_large = large["results"][name]
        ratios[name] = {
            "throughput": at_large["rps"] / at_small["rps"],
            "p50": at_large["p50_ms"] / at_small["p50_ms"],
            "p99": at_large["p99_ms"] / at_small["p99_ms"],
        }
    return ratios


def measure_scale(
    sizes: list[int], *, seconds: float = 10.0, clients: int = 8, log: Any = print
) -> dict[str, Any]:
    runs = [measure_size(size, seconds=seconds, clients=clients, log=log) for size in sizes]
    return {
        "database": "postgresql",
        "clients": clients,
        "sizes": runs,
        "ratios": flatness(runs[0], runs[-1]) if len(runs) > 1 else {},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description="Backup codes and who-am-i at scale")
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 1_000_000])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    found = measure_scale(args.sizes, seconds=args.seconds, clients=args.clients)
    print(json.dumps(found["ratios"], indent=2))
    for run in found["sizes"]:
        print(run["accounts"], json.dumps(run["plans"], indent=2))


if __name__ == "__main__":
    main()
