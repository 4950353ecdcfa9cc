"""mamori against django-allauth (headless API + MFA), the same work on both, alternating.

    .venv/bin/python -m bench.peer --database sqlite          # or postgresql, or both
    .venv/bin/python -m bench.peer --database both --quick    # about a minute per kind

The peer is installed by this script into a virtualenv of its own (bench/.peer-venv,
git-ignored): django-allauth 65.x with its mfa extra, Django, argon2-cffi, gunicorn,
psycopg, redis. Its project is bench/allauth_site: the headless API for apps (session
tokens in X-Session-Token), MFA with TOTP (±1 step, as mamori) and recovery codes, and
an argon2id hasher with exactly mamori's parameters (read here from mamori's own hasher).

Both servers run at once on the same database kind, each in a database of its own, with
two worker processes (`mamori serve --workers 2`; gunicorn -w 2), and the same shared
Redis (mamori's throttle counters; allauth's cache: rate limits and TOTP replay markers,
which must be shared across workers). Both are seeded in bulk with equal accounts (same
usernames, password, TOTP secrets): plain ones, and ones with an authenticator app and 10
recovery / backup codes. Rows, each measured by bench.loadgen (a separate process, closed
loop, same clients for both), alternate mamori, allauth, mamori, allauth ... so noise on
this shared machine falls on both:

1. password login (accounts without two-factor): a session token back;
2. login completed with a TOTP code: password, then the current code (a fresh account
   per operation, as a code is accepted once);
3. login completed with a recovery / backup code (each code once);
4. "who am I" with a session token (mamori GET /api/v1/me, allauth GET auth/session).

Figures go to bench/results/peer-<kind>.json and peer-<kind>.md: per row each server's
operations/s, p50 and p99, and the mamori/allauth ratios (throughput: higher is better
for mamori; latency: lower is better for mamori).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make `bench` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import text

from bench.loadgen import HttpClient, LoadError, LoadResult, run_load
from bench.seed import Accounts, seed_accounts
from bench.server import (
    DEFAULT_PG_ADMIN_URL,
    MamoriServer,
    children,
    cpu_seconds,
    create_database,
    drop_database,
    free_port,
    memory_kib,
    stop_process,
    wait_until_ready,
)
from bench.workloads import BackupCodeLogin, PasswordLogin, TotpLogin, WhoAmI
from bench.wrk import run_wrk, wrk_path
from mamori.totp.service import STEP_SECONDS, code_at

BENCH = Path(__file__).resolve().parent
SITE = BENCH / "allauth_site"
VENV = BENCH / ".peer-venv"
RESULTS = BENCH / "results"
# What the peer runs on: allauth's current 65.x, a Django it supports, and the same
# argon2 library as mamori. The stamp file records what was installed.
PEER_REQUIREMENTS = [
    "django-allauth[mfa]>=65.0,<66",
    "django>=5.2,<6",
    "argon2-cffi>=23.1",
    "gunicorn>=23",
    "psycopg[binary]>=3.2",
    "redis>=5",
]
ALLAUTH_API = "/_allauth/app/v1"
CODES_PER_ACCOUNT = 10
JSON = {"Accept": "application/json"}


# --- the peer's virtualenv and server ----------------------------------------------------


def ensure_peer_venv() -> Path:
    """bench/.peer-venv with PEER_REQUIREMENTS, made once and reused while they match."""
    python = VENV / "bin" / "python"
    stamp = VENV / "requirements.txt"
    wanted = "\n".join(PEER_REQUIREMENTS) + "\n"
    if python.exists() and stamp.exists() and stamp.read_text() == wanted:
        return python
    print(f"installing the peer into {VENV} (django-allauth from PyPI) ...", flush=True)
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "-q", *PEER_REQUIREMENTS], check=True, timeout=900
    )
    stamp.write_text(wanted)
    return python


def mamori_argon2() -> dict[str, int]:
    """argon2id's parameters exactly as mamori's hasher uses them, with the default settings
    the bench's `mamori serve` runs with (bench.server passes no MAMORI_ARGON2_* on)."""
    from mamori.accounts.passwords import PasswordHasher
    from mamori.settings import Settings

    hasher = PasswordHasher(Settings.model_construct())._hasher
    return {
        "time_cost": hasher.time_cost,
        "memory_kib": hasher.memory_cost,
        "parallelism": hasher.parallelism,
        "hash_len": hasher.hash_len,
        "salt_len": hasher.salt_len,
    }


def peer_version(python: Path) -> str:
    found = subprocess.run(
        [
            str(python),
            "-c",
            "import allauth, django; print(f'django-allauth {allauth.__version__}, "
            "Django {django.get_version()}')",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    return found.stdout.strip()


class AllauthServer:
    """bench/allauth_site under gunicorn (2 workers), in a data dir and database of its own."""

    def __init__(
        self,
        python: Path,
        database: str,
        *,
        argon2: dict[str, int],
        redis_url: str | None,
        workers: int = 2,
        threads: int = 4,
        pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
    ) -> None:
        self.python = python
        self.database = database
        self.argon2 = argon2
        self.redis_url = redis_url
        self.workers = workers
        self.threads = threads
        self.pg_admin_url = pg_admin_url
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"allauth-bench-{database}-"))
        self.pg_database: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self.secret_key = secrets.token_urlsafe(50)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PEER_", "MAMORI_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="peer_site.settings",
            PYTHONPATH=str(SITE),
            PEER_SECRET_KEY=self.secret_key,
            PEER_DB_KIND=self.database,
            PEER_SQLITE_PATH=str(self.data_dir / "allauth.sqlite3"),
            PEER_CACHE_PREFIX=f"peer-{self.port}-{self.data_dir.name}",
            PEER_ARGON2_TIME_COST=str(self.argon2["time_cost"]),
            PEER_ARGON2_MEMORY_KIB=str(self.argon2["memory_kib"]),
            PEER_ARGON2_PARALLELISM=str(self.argon2["parallelism"]),
            PEER_ARGON2_HASH_LEN=str(self.argon2["hash_len"]),
            PEER_ARGON2_SALT_LEN=str(self.argon2["salt_len"]),
        )
        if self.redis_url:
            env["PEER_REDIS_URL"] = self.redis_url
        else:
            env["PEER_CACHE"] = "db"
        if self.pg_database:
            base = self.pg_admin_url.rsplit("/", 1)[0]
            host = base.split("@", 1)[1]
            env.update(
                PEER_PG_NAME=self.pg_database,
                PEER_PG_USER=base.split("//", 1)[1].split("@", 1)[0],
                PEER_PG_HOST=host.split(":")[0],
                PEER_PG_PORT=host.split(":")[1] if ":" in host else "5432",
            )
        return env

    def _django(self, *args: str, timeout: float = 600) -> str:
        done = subprocess.run(
            [str(self.python), *args],
            env=self.environment(),
            cwd=SITE,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def prepare(self) -> None:
        if self.database == "postgresql":
            self.pg_database = create_database(self.pg_admin_url, "bench_allauth")
        self._django("-m", "django", "migrate", "-v0")
        if not self.redis_url:
            self._django("-m", "django", "createcachetable")

    def seed(self, accounts: Accounts, plain: range, two_factor: range) -> dict[str, Any]:
        """The same accounts as mamori's: returns recovery codes and session tokens by id."""
        plan = {
            "password": accounts.password,
            "plain": [[i, accounts.username(i)] for i in plain],
            "two_factor": [[i, accounts.username(i), accounts.totp_secret(i)] for i in two_factor],
            "sessions": list(plain),
        }
        plan_path = self.data_dir / "plan.json"
        out_path = self.data_dir / "seeded.json"
        plan_path.write_text(json.dumps(plan))
        print("  " + self._django("-m", "peer_site.seed", str(plan_path), str(out_path)).strip())
        seeded: dict[str, Any] = json.loads(out_path.read_text())
        return seeded

    def start(self, timeout: float = 60.0) -> None:
        log = (self.data_dir / "gunicorn.log").open("ab")
        self.process = subprocess.Popen(
            [
                str(VENV / "bin" / "gunicorn"),
                "--bind",
                f"127.0.0.1:{self.port}",
                "--workers",
                str(self.workers),
                "--worker-class",
                "gthread",
                "--threads",
                str(self.threads),
                "--no-control-socket",
                # an access line per request, as uvicorn writes for mamori
                "--access-logfile",
                str(self.data_dir / "access.log"),
                "peer_site.wsgi",
            ],
            env=self.environment(),
            cwd=SITE,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        ready = f"{self.url}{ALLAUTH_API}/config"
        wait_until_ready(self.process, ready, "gunicorn", self.data_dir / "gunicorn.log", timeout)

    def close(self) -> None:
        stop_process(self.process)
        self.process = None
        if self.pg_database is not None:
            drop_database(self.pg_admin_url, self.pg_database)
            self.pg_database = None
        shutil.rmtree(self.data_dir, ignore_errors=True)


# --- allauth's workloads (mamori's are bench.workloads) ----------------------------------


def totp_now(secret: str) -> str:
    """What the authenticator app shows now (RFC 6238, as for mamori's workload)."""
    return code_at(secret, int(time.time()) // STEP_SECONDS)


def _allauth_log_in(client: HttpClient, accounts: Accounts, user_id: int) -> dict[str, Any]:
    answer = client.request(
        "POST",
        f"{ALLAUTH_API}/auth/login",
        json_body={"username": accounts.username(user_id), "password": accounts.password},
        headers=JSON,
        expect=(200, 401),  # 401 + a pending "mfa_authenticate" flow: the password was right
    ).json()
    assert isinstance(answer, dict)
    return answer


def _allauth_second_factor(client: HttpClient, answer: dict[str, Any], code: str) -> None:
    flows = answer.get("data", {}).get("flows", [])
    if not any(f.get("id") == "mfa_authenticate" and f.get("is_pending") for f in flows):
        raise LoadError(f"no pending mfa_authenticate flow: {answer}")
    done = client.request(
        "POST",
        f"{ALLAUTH_API}/auth/2fa/authenticate",
        json_body={"code": code},
        headers={"X-Session-Token": answer["meta"]["session_token"], **JSON},
        expect=200,
    ).json()
    if not done.get("meta", {}).get("is_authenticated"):
        raise LoadError(f"not authenticated: {done}")


class AllauthPasswordLogin:
    name = "password login"

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def prepare(self, n: int) -> int:
        return self.accounts.user_id(n)

    def run(self, client: HttpClient, user_id: int) -> None:
        answer = _allauth_log_in(client, self.accounts, user_id)
        if not answer.get("meta", {}).get("is_authenticated"):
            raise LoadError(f"not authenticated: {answer}")


class AllauthTotpLogin:
    name = "login with TOTP"

    def __init__(self, accounts: Accounts) -> None:
        self.accounts = accounts

    def prepare(self, n: int) -> int:
        return self.accounts.user_id(n)

    def run(self, client: HttpClient, user_id: int) -> None:
        answer = _allauth_log_in(client, self.accounts, user_id)
        code = totp_now(self.accounts.totp_secret(user_id))
        _allauth_second_factor(client, answer, code)


class AllauthRecoveryCodeLogin:
    """As bench.workloads.BackupCodeLogin: the n-th use of an account spends its n-th code."""

    name = "login with backup code"

    def __init__(self, accounts: Accounts, codes: dict[str, list[str]]) -> None:
        self.accounts = accounts
        self.codes = codes  # user id (str) -> allauth's recovery codes

    def prepare(self, n: int) -> tuple[int, str]:
        user_id = self.accounts.user_id(n)
        codes = self.codes[str(user_id)]
        return user_id, codes[(n // self.accounts.count) % len(codes)]

    def run(self, client: HttpClient, data: tuple[int, str]) -> None:
        user_id, code = data
        _allauth_second_factor(client, _allauth_log_in(client, self.accounts, user_id), code)


class AllauthWhoAmI:
    name = "who am i"

    def __init__(self, accounts: Accounts, tokens: dict[str, str]) -> None:
        self.accounts = accounts
        self.tokens = tokens  # user id (str) -> session token

    def prepare(self, n: int) -> str:
        return self.tokens[str(self.accounts.user_id(n))]

    def run(self, client: HttpClient, token: str) -> None:
        client.request(
            "GET",
            f"{ALLAUTH_API}/auth/session",
            headers={"X-Session-Token": token, **JSON},
            expect=200,
        )


# --- the run -----------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shape:
    rounds: int  # each row: mamori, allauth, repeated this many times
    seconds: float  # measured, per turn
    warmup: float
    clients: int
    plain: int  # accounts without two-factor (password login, who am I)
    totp_per_turn: int  # fresh accounts for one turn of the TOTP row
    backup_per_turn: int  # accounts for one turn of the backup-code row (10 codes each)


FULL = Shape(
    rounds=3, seconds=8, warmup=1, clients=8, plain=200, totp_per_turn=1500, backup_per_turn=300
)
QUICK = Shape(
    rounds=1, seconds=4, warmup=1, clients=8, plain=100, totp_per_turn=800, backup_per_turn=150
)
ROWS = ["password login", "login with TOTP", "login with backup code", "who am i"]


def layout(shape: Shape) -> tuple[range, list[range], list[range]]:
    """Account ids: plain ones first, then per turn its TOTP and backup-code ranges."""
    plain = range(1, shape.plain + 1)
    totp, backup = [], []
    start = plain.stop
    for _ in range(shape.rounds):
        totp.append(range(start, start + shape.totp_per_turn))
        start += shape.totp_per_turn
        backup.append(range(start, start + shape.backup_per_turn))
        start += shape.backup_per_turn
    return plain, totp, backup


def view(accounts: Accounts, ids: range) -> Accounts:
    return dataclasses.replace(accounts, first_id=ids.start, count=len(ids))


def strip_two_factor(server: MamoriServer, plain: range) -> None:
    """bench.seed gives every account two-factor; the plain ones lose it again."""
    engine = server.context().database.engine
    with engine.begin() as connection:
        for table in ("two_factor_settings", "totp_authenticators", "backup_code_sets"):
            connection.execute(
                text(f"DELETE FROM {table} WHERE user_id BETWEEN :a AND :b"),
                {"a": plain.start, "b": plain.stop - 1},
            )


def run_kind(database: str, shape: Shape, python: Path, redis_url: str | None) -> dict[str, Any]:
    argon2 = mamori_argon2()
    plain, totp_turns, backup_turns = layout(shape)
    total = max(r.stop for r in [plain, *totp_turns, *backup_turns]) - 1
    mamori_settings = {"redis_url": redis_url} if redis_url else {}
    print(f"\n== {database}: {total:,} accounts on each server", flush=True)
    with MamoriServer(database, workers=2, settings=mamori_settings) as mamori:
        peer = AllauthServer(python, database, argon2=argon2, redis_url=redis_url)
        try:
            started = time.perf_counter()
            accounts = seed_accounts(
                mamori.context(), total, totp=True, backup_codes=CODES_PER_ACCOUNT, sessions=True
            )
            strip_two_factor(mamori, plain)
            print(f"  mamori seeded in {time.perf_counter() - started:.1f} s", flush=True)
            started = time.perf_counter()
            peer.prepare()
            seeded = peer.seed(accounts, plain, range(plain.stop, total + 1))
            print(f"  allauth seeded in {time.perf_counter() - started:.1f} s", flush=True)
            mamori.start()
            peer.start()
            workers = {
                "mamori": mamori.worker_pids,
                "allauth": lambda: children(peer.process),
            }
            turns = measure(
                mamori.url,
                peer.url,
                accounts,
                seeded,
                shape,
                plain,
                totp_turns,
                backup_turns,
                workers,
            )
        finally:
            peer.close()
    return {
        "database": database,
        "argon2": argon2,
        "peer": peer_version(python),
        "shape": dataclasses.asdict(shape),
        "redis": bool(redis_url),
        "turns": turns,
        "rows": summarise(turns),
    }


def measure(
    mamori_url: str,
    allauth_url: str,
    accounts: Accounts,
    seeded: dict[str, Any],
    shape: Shape,
    plain: range,
    totp_turns: list[range],
    backup_turns: list[range],
    workers: dict[str, Callable[[], list[int]]],
) -> list[dict[str, Any]]:
    """Each row: mamori, allauth, mamori, allauth ... (shape.rounds turns each).

    Besides each turn's figures: the server's CPU per operation (its workers, from /proc),
    its workers' peak resident memory so far, and the load generator's own CPU. The plain
    GET row runs through wrk when it is installed (bench.wrk)."""
    codes, tokens = seeded["codes"], seeded["sessions"]
    plain_accounts = view(accounts, plain)
    use_wrk = wrk_path() is not None
    if not use_wrk:
        print("  wrk is not installed: who am i runs through bench.loadgen", flush=True)
    turns: list[dict[str, Any]] = []
    for row in ROWS:
        for turn in range(shape.rounds):
            totp_accounts = view(accounts, totp_turns[turn])
            backup_accounts = view(accounts, backup_turns[turn])
            pairs: dict[str, tuple[Any, Any, int | None]] = {
                "password login": (
                    PasswordLogin(plain_accounts),
                    AllauthPasswordLogin(plain_accounts),
                    None,
                ),
                "login with TOTP": (
                    TotpLogin(totp_accounts),
                    AllauthTotpLogin(totp_accounts),
                    totp_accounts.count,
                ),
                "login with backup code": (
                    BackupCodeLogin(backup_accounts, CODES_PER_ACCOUNT),
                    AllauthRecoveryCodeLogin(backup_accounts, codes),
                    backup_accounts.count * CODES_PER_ACCOUNT,
                ),
                "who am i": (WhoAmI(plain_accounts), AllauthWhoAmI(plain_accounts, tokens), None),
            }
            mamori_load, allauth_load, max_ops = pairs[row]
            for server, url, load in (
                ("mamori", mamori_url, mamori_load),
                ("allauth", allauth_url, allauth_load),
            ):
                pids = workers[server]()
                cpu_before = cpu_seconds(pids)
                if row == "who am i" and use_wrk:
                    result = _who_am_i_by_wrk(server, url, plain_accounts, tokens, shape)
                else:
                    result = run_load(
                        url,
                        load,
                        clients=shape.clients,
                        seconds=shape.seconds,
                        warmup=shape.warmup,
                        max_ops=max_ops,
                    )
                server_cpu = cpu_seconds(pids) - cpu_before
                peak_kib = memory_kib(pids)
                ran_out = max_ops is not None and result.ops + result.errors >= 0.9 * max_ops
                print(
                    f"  {server:<8} {result.line()}" + ("  (accounts ran out!)" if ran_out else ""),
                    flush=True,
                )
                for sample in result.error_samples[:2]:
                    print(f"           error: {sample}", flush=True)
                turns.append(
                    {
                        "row": row,
                        "turn": turn,
                        "server": server,
                        "ran_out": ran_out,
                        **result.to_dict(),
                        # warm-up included, as `answered` is
                        "server_cpu_ms_per_op": server_cpu * 1000 / max(result.answered, 1),
                        "workers": len(pids),
                        "peak_rss_mib_per_worker": max(peak_kib, default=0) / 1024,
                    }
                )
    return turns


def _who_am_i_by_wrk(
    server: str, url: str, accounts: Accounts, tokens: dict[str, str], shape: Shape
) -> LoadResult:
    if server == "mamori":
        mine = [accounts.session_token(i) for i in accounts.ids()]
        return run_wrk(
            f"{url}/api/v1/me",
            "Authorization",
            "Bearer ",
            mine,
            clients=shape.clients,
            seconds=shape.seconds,
            warmup=shape.warmup,
        )
    theirs = [tokens[str(i)] for i in accounts.ids()]
    return run_wrk(
        f"{url}{ALLAUTH_API}/auth/session",
        "X-Session-Token",
        "",
        theirs,
        clients=shape.clients,
        seconds=shape.seconds,
        warmup=shape.warmup,
    )


def summarise(turns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per row and server: operations/s over all turns; p50 and p99 as the median of the
    turns' figures (the load generator reports percentiles per turn)."""
    rows = []
    for row in ROWS:
        figures: dict[str, dict[str, Any]] = {}
        for server in ("mamori", "allauth"):
            mine = [t for t in turns if t["row"] == row and t["server"] == server]
            ops = sum(t["ops"] for t in mine)
            seconds = sum(t["seconds"] for t in mine)
            figures[server] = {
                "rps": ops / seconds if seconds else float("nan"),
                "p50_ms": _median([t["p50_ms"] for t in mine]),
                "p99_ms": _median([t["p99_ms"] for t in mine]),
                "errors": sum(t["errors"] for t in mine),
                "server_cpu_ms_per_op": _median([t["server_cpu_ms_per_op"] for t in mine]),
                "loadgen": mine[0]["loadgen"] if mine else "",
                "loadgen_cpu_ms_per_op": _median([t["loadgen_cpu_ms_per_op"] for t in mine]),
                "peak_rss_mib_per_worker": max(t["peak_rss_mib_per_worker"] for t in mine),
            }
        m, a = figures["mamori"], figures["allauth"]
        rows.append(
            {
                "row": row,
                "mamori": m,
                "allauth": a,
                "throughput_ratio": m["rps"] / a["rps"] if a["rps"] else float("inf"),
                "p50_ratio": m["p50_ms"] / a["p50_ms"] if a["p50_ms"] else float("nan"),
                "p99_ratio": m["p99_ms"] / a["p99_ms"] if a["p99_ms"] else float("nan"),
            }
        )
    return rows


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def markdown(report: dict[str, Any], command: str) -> str:
    argon2 = report["argon2"]
    shape = report["shape"]
    lines = [
        f"### mamori vs {report['peer']} — {report['database']}",
        "",
        f"`{command}` · argon2id t={argon2['time_cost']}, m={argon2['memory_kib']} KiB, "
        f"p={argon2['parallelism']}, hash {argon2['hash_len']} B, salt {argon2['salt_len']} B "
        f"on both · 2 workers each (uvicorn; gunicorn gthread ×4 threads) · "
        f"{shape['clients']} clients, {shape['rounds']} × {shape['seconds']:g} s per server "
        f"and row, alternating · Redis: {'yes, both' if report['redis'] else 'no'}",
        "",
        "| row | mamori ops/s | allauth ops/s | throughput ×  | mamori p50 / p99 ms "
        "| allauth p50 / p99 ms | p50 ratio | p99 ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in report["rows"]:
        m, a = row["mamori"], row["allauth"]
        errors = f" ({m['errors']}/{a['errors']} errors)" if m["errors"] or a["errors"] else ""
        lines.append(
            f"| {row['row']}{errors} | {m['rps']:.1f} | {a['rps']:.1f} | "
            f"**{row['throughput_ratio']:.2f}** | {m['p50_ms']:.1f} / {m['p99_ms']:.1f} | "
            f"{a['p50_ms']:.1f} / {a['p99_ms']:.1f} | **{row['p50_ratio']:.2f}** | "
            f"**{row['p99_ratio']:.2f}** |"
        )
    lines += [
        "",
        "throughput × = mamori/allauth operations per second (above 1: mamori ahead); "
        "p50 / p99 ratio = mamori/allauth latency (below 1: mamori ahead).",
        "",
        "| row | load generator | its CPU ms/op (mamori / allauth) "
        "| server CPU ms/op (mamori / allauth) | peak RSS MiB per worker (mamori / allauth) |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for row in report["rows"]:
        m, a = row["mamori"], row["allauth"]
        if "server_cpu_ms_per_op" not in m:
            continue  # a run from before these were measured
        lines.append(
            f"| {row['row']} | {m['loadgen']} | {m['loadgen_cpu_ms_per_op']:.2f} / "
            f"{a['loadgen_cpu_ms_per_op']:.2f} | {m['server_cpu_ms_per_op']:.2f} / "
            f"{a['server_cpu_ms_per_op']:.2f} | {m['peak_rss_mib_per_worker']:.0f} / "
            f"{a['peak_rss_mib_per_worker']:.0f} |"
        )
    lines.append("")
    return "\n".join(lines)


def redis_available(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--quick", action="store_true", help="one short turn per server and row")
    parser.add_argument(
        "--redis-url",
        default="redis://127.0.0.1:6379/12",
        help="shared by both servers; '' for none (then allauth's cache is "
        "its database, mamori's counters are in its database)",
    )
    parser.add_argument("--pg-admin-url", default=DEFAULT_PG_ADMIN_URL)
    parser.add_argument("--results", type=Path, default=RESULTS)
    args = parser.parse_args()
    command = "python -m bench.peer " + " ".join(sys.argv[1:])
    python = ensure_peer_venv()
    redis_url = args.redis_url if args.redis_url and redis_available(args.redis_url) else None
    if args.redis_url and redis_url is None:
        print(f"Redis at {args.redis_url} does not answer: running without it")
    shape = QUICK if args.quick else FULL
    kinds = ["sqlite", "postgresql"] if args.database == "both" else [args.database]
    args.results.mkdir(parents=True, exist_ok=True)
    for kind in kinds:
        report = run_kind(kind, shape, python, redis_url)
        report["command"] = command
        (args.results / f"peer-{kind}.json").write_text(json.dumps(report, indent=2) + "\n")
        table = markdown(report, command)
        (args.results / f"peer-{kind}.md").write_text(table)
        print("\n" + table, flush=True)


if __name__ == "__main__":
    main()
