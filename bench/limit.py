"""The hashing limit: password logins/s of `mamori serve --workers 2` against argon2id/s.

    .venv/bin/python -m bench.limit --database sqlite --seconds 15 --rounds 2

Password login is bound by argon2id: each login verifies one hash. So the most a server
with two worker processes can do is what two processes do hashing and nothing else, at
mamori's parameters (read from mamori's Settings, the server's defaults: argon2id
t=2, m=19456 KiB, p=1). In one run, alternating so that both see the same machine, this
measures that limit and the logins/s (closed loop, load from another process), and
reports the ratio. The load generator shares the 2 cores with the server (a few % of a
core at these rates), which counts against mamori.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import time
from typing import Any

from bench.loadgen import run_load
from bench.seed import BENCH_PASSWORD, seed_accounts
from bench.server import MamoriServer, cpu_seconds
from bench.workloads import PasswordLogin


def argon2_parameters() -> dict[str, int]:
    from mamori.settings import Settings

    settings = Settings()
    return {
        "time_cost": settings.argon2_time_cost,
        "memory_kib": settings.argon2_memory_kib,
        "parallelism": settings.argon2_parallelism,
    }


def _hash_loop(seconds: float, start_at: float, out: Any) -> None:
    from mamori.accounts.passwords import PasswordHasher
    from mamori.settings import Settings

    hasher = PasswordHasher(Settings())  # mamori's own hasher and parameters
    stored = hasher.hash(BENCH_PASSWORD)
    time.sleep(max(0.0, start_at - time.time()))
    done = 0
    cpu = time.process_time()
    stop = time.time() + seconds
    while time.time() < stop:
        hasher.verify(stored, BENCH_PASSWORD)  # a login verifies; same cost as hashing
        done += 1
    out.put((done, time.process_time() - cpu))


def hash_rate(seconds: float, processes: int = 2) -> tuple[float, float]:
    """argon2id verifications per second by `processes` processes doing only that, and
    the CPU milliseconds each took (robust to other load on a shared machine)."""
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    start_at = time.time() + 1.5  # after every process has imported and made its hash
    workers = [
        spawn.Process(target=_hash_loop, args=(seconds, start_at, queue)) for _ in range(processes)
    ]
    for worker in workers:
        worker.start()
    reports = [queue.get(timeout=seconds + 60) for _ in workers]
    for worker in workers:
        worker.join(timeout=10)
    done = sum(count for count, _ in reports)
    cpu = sum(seconds_ for _, seconds_ in reports)
    return done / seconds, cpu * 1000 / max(done, 1)


def measure_limit(
    database: str,
    *,
    seconds: float = 15.0,
    rounds: int = 2,
    clients: int = 6,
    accounts: int = 2_000,
    log: Any = print,
) -> dict[str, Any]:
    """Alternate `rounds` times: argon2id/s of two processes, then password logins/s."""
    hashes: list[float] = []
    hash_cpu: list[float] = []
    login_cpu: list[float] = []
    logins: list[dict[str, Any]] = []
    with MamoriServer(database, workers=2) as server:
        seeded = seed_accounts(server.context(), accounts)
        server.start()
        # Warm both workers (imports, pools, zxcvbn's dictionaries) before measuring.
        run_load(server.url, PasswordLogin(seeded), clients=clients, seconds=2, warmup=0)
        for round_ in range(rounds):
            rate, cpu_ms = hash_rate(seconds)
            hashes.append(rate)
            hash_cpu.append(cpu_ms)
            pids = server.worker_pids() + ([server.process.pid] if server.process else [])
            cpu_before = cpu_seconds(pids)
            result = run_load(server.url, PasswordLogin(seeded), clients=clients, seconds=seconds)
            # CPU over the whole run (warm-up included), per login answered in it
            used = cpu_seconds(pids) - cpu_before
            login_cpu.append(used * 1000 / max(result.answered, 1))
            logins.append(result.to_dict())
            log(
                f"  [{database}] round {round_ + 1}: argon2id {rate:.1f}/s "
                f"({cpu_ms:.1f} ms CPU each); {result.line()} "
                f"(server CPU {login_cpu[-1]:.1f} ms per login)"
            )
    limit = statistics.median(hashes)
    login_rps = statistics.median(r["rps"] for r in logins)
    return {
        "database": database,
        "argon2": argon2_parameters(),
        "hash_processes": 2,
        "server_workers": 2,
        "clients": clients,
        "seconds_per_measure": seconds,
        "hashes_per_second": hashes,
        "logins": logins,
        "limit_hashes_per_second": limit,
        "logins_per_second": login_rps,
        "ratio": login_rps / limit if limit else float("nan"),
        # The same ratio in CPU time, which other load on a shared machine disturbs less:
        # CPU ms of one argon2id verification / server CPU ms per password login.
        "hash_cpu_ms": statistics.median(hash_cpu),
        "login_cpu_ms": statistics.median(login_cpu),
        "cpu_ratio": statistics.median(hash_cpu) / statistics.median(login_cpu),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[1])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    for kind in kinds:
        found = measure_limit(kind, seconds=args.seconds, rounds=args.rounds, clients=args.clients)
        print(
            json.dumps(
                {
                    k: found[k]
                    for k in (
                        "database",
                        "limit_hashes_per_second",
                        "logins_per_second",
                        "ratio",
                        "hash_cpu_ms",
                        "login_cpu_ms",
                        "cpu_ratio",
                    )
                }
            )
        )


if __name__ == "__main__":
    main()
