"""Latency of login with two-factor (password, then TOTP) at 80% of its peak throughput.

    .venv/bin/python -m bench.latency --database postgresql --seconds 15

1. Peak: closed loop (load from another process), as many logins with TOTP per second as
   `mamori serve --workers 2` completes.
2. At 80% of that peak: open loop, logins due on a fixed schedule, latency counted from
   when each was due (so queueing behind a slow answer is counted, not hidden), p50/p99.

Each login uses an account of its own (a TOTP code is accepted once per account and step).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bench.loadgen import run_load
from bench.seed import seed_accounts
from bench.server import MamoriServer
from bench.workloads import TotpLogin


def measure_latency(
    database: str,
    *,
    seconds: float = 15.0,
    clients: int = 6,
    fraction: float = 0.8,
    log: Any = print,
) -> dict[str, Any]:
    # Enough accounts for every login of both phases (a generous 60 logins/s).
    accounts_needed = int(60 * (seconds + 4) * 2) + 200
    with MamoriServer(database, workers=2) as server:
        accounts = seed_accounts(server.context(), accounts_needed, totp=True)
        server.start()
        workload = TotpLogin(accounts)
        # Warm up on the last 100 accounts, and on no more: past them the account numbers
        # wrap to the first ones, whose codes the peak then finds used in the same step
        # (the 409s of the run of 5 December).
        run_load(
            server.url,
            _Offset(workload, accounts_needed - 100),
            clients=2,
            seconds=2,
            max_ops=100,
        )
        peak = run_load(
            server.url, workload, clients=clients, seconds=seconds, max_ops=accounts_needed // 2
        )
        log(f"  [{database}] peak   {peak.line()}")
        rate = peak.rps * fraction
        at_rate = run_load(
            server.url,
            _Offset(workload, accounts_needed // 2),
            clients=max(8, clients * 2),
            seconds=seconds,
            rate=rate,
            max_ops=accounts_needed // 2 - 100,
        )
        log(f"  [{database}] at {fraction:.0%} {at_rate.line()}")
    return {
        "database": database,
        "peak": peak.to_dict(),
        "fraction": fraction,
        "at_rate": at_rate.to_dict(),
    }


class _Offset:
    """The same workload on accounts from `offset` on (so phases never share an account)."""

    def __init__(self, workload: TotpLogin, offset: int) -> None:
        self.workload = workload
        self.offset = offset
        self.name = workload.name

    def prepare(self, n: int) -> int:
        return self.workload.prepare(n + self.offset)

    def run(self, client: Any, data: int) -> None:
        self.workload.run(client, data)


def main() -> None:
    parser = argparse.ArgumentParser(description="Login with TOTP at 80% of peak")
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--seconds", type=float, default=15.0)
    args = parser.parse_args()
    found = measure_latency(args.database, seconds=args.seconds)
    print(json.dumps({k: found[k] for k in ("peak", "at_rate")}, indent=2))


if __name__ == "__main__":
    main()
