"""A long run at 80% of peak: is memory flat? (`bench/run.py --soak 600 --only soak`)

    .venv/bin/python -m bench.soak --database sqlite --seconds 600

`mamori serve --workers 2` on a fresh database, a mixed workload (one password login in
ten operations, "who am I" the rest: every request path that writes rows and the one that
is called most), its peak measured closed loop, then an open loop at `fraction` of that
peak for `seconds`, in slices. After each slice: the slice's operations/s, p50, p99 and
errors, and each worker's resident memory (VmRSS), read every second through the slice:
its highest reading is the slice's peak. Memory growth is the last slice's peak (largest
worker) against the first slice's (the first slice is the warm-up of caches and pools):
flat means at most 5%. Peaks, not one reading at the slice's end: with two malloc arenas
a worker's resident memory moves between two levels about 20 MiB apart as the arenas are
trimmed, and one reading per slice compared whichever level it happened to catch.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import threading
from collections.abc import Callable
from typing import Any

from bench.loadgen import HttpClient, run_load
from bench.seed import Accounts, seed_accounts
from bench.server import MamoriServer, memory_kib
from bench.workloads import PasswordLogin, WhoAmI

GROWTH_LIMIT = 0.05


def is_a_login(n: int) -> bool:
    """One operation in ten, spread evenly over any client's share. Not `n % 10 == 0`: a
    closed-loop client takes every (clients)-th operation, so with 8 clients half of them
    never logged in, the fast "who am I" clients outran the rest, and the peak came out
    far above what the server sustains (755/s on 5 December; at 80% of it, 604/s, the
    answers fell 11 s behind within the first minute)."""
    digest = hashlib.blake2b(n.to_bytes(8, "big"), digest_size=4).digest()
    return int.from_bytes(digest, "big") % 10 == 0


class LoginAndWhoAmI:
    """Operation n: a password login one time in ten (is_a_login), else "who am I"."""

    name = "1 login : 9 who am i"

    def __init__(self, accounts: Accounts) -> None:
        self.login = PasswordLogin(accounts)
        self.who = WhoAmI(accounts)

    def prepare(self, n: int) -> tuple[bool, Any]:
        if is_a_login(n):
            return True, self.login.prepare(n)
        return False, self.who.prepare(n)

    def run(self, client: HttpClient, data: tuple[bool, Any]) -> None:
        is_login, value = data
        (self.login if is_login else self.who).run(client, value)


class PeakSampler:
    """Reads each worker's VmRSS every `interval` seconds, in a thread, until stopped."""

    def __init__(self, pids: Callable[[], list[int]], interval: float = 1.0) -> None:
        self._pids = pids
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self.peaks: dict[int, int] = {}

    def _run(self) -> None:
        while True:
            self._sample()
            if self._stop.wait(self._interval):
                return

    def _sample(self) -> None:
        pids = self._pids()
        for pid, kib in zip(pids, memory_kib(pids, "VmRSS"), strict=False):
            self.peaks[pid] = max(kib, self.peaks.get(pid, 0))

    def __enter__(self) -> PeakSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()


def measure_soak(
    database: str,
    *,
    seconds: float = 600.0,
    slice_seconds: float = 60.0,
    fraction: float = 0.8,
    clients: int = 8,
    redis_url: str | None = None,
    log: Any = print,
) -> dict[str, Any]:
    settings = {"redis_url": redis_url} if redis_url else {}
    with MamoriServer(database, workers=2, settings=settings) as server:
        accounts = seed_accounts(server.context(), 500, sessions=True)
        server.start()
        workload = LoginAndWhoAmI(accounts)
        peak = run_load(server.url, workload, clients=clients, seconds=10, warmup=2)
        rate = peak.rps * fraction
        log(f"  [{database}] soak peak {peak.line()}; now {rate:.0f}/s for {seconds:.0f} s")
        slices = []
        remaining = seconds
        while remaining > 0:
            length = min(slice_seconds, remaining)
            with PeakSampler(server.worker_pids) as sampler:
                result = run_load(
                    server.url, workload, clients=clients * 4, seconds=length, warmup=0, rate=rate
                )
            remaining -= length
            rss = memory_kib(server.worker_pids(), "VmRSS")
            peaks = [kib / 1024 for kib in sampler.peaks.values()]
            slices.append(
                {**result.to_dict(), "rss_mib": [kib / 1024 for kib in rss], "rss_peak_mib": peaks}
            )
            log(f"  [{database}] {result.line()}  RSS peak MiB {[round(k) for k in peaks]}")
    first = max(slices[0]["rss_peak_mib"], default=0.0)
    last = max(slices[-1]["rss_peak_mib"], default=0.0)
    growth = last / first - 1 if first else float("nan")
    return {
        "database": database,
        "workload": workload.name,
        "seconds": seconds,
        "fraction": fraction,
        "peak": peak.to_dict(),
        "rate": rate,
        "slices": slices,
        "first_rss_mib": first,
        "last_rss_mib": last,
        "memory_growth": growth,
        "flat": growth <= GROWTH_LIMIT,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--slice", type=float, default=60.0)
    parser.add_argument("--redis-url", default=None)
    args = parser.parse_args()
    found = measure_soak(
        args.database, seconds=args.seconds, slice_seconds=args.slice, redis_url=args.redis_url
    )
    print(json.dumps({k: v for k, v in found.items() if k != "slices"}, indent=2))


if __name__ == "__main__":
    main()
