"""Start `mamori serve --workers N` for a bench, on SQLite or PostgreSQL, and stop it.

    from bench.server import MamoriServer

    with MamoriServer("postgresql", workers=2) as server:   # or "sqlite"
        ctx = server.context()          # same settings and secrets as the server: for seeding
        ...                              # load against server.url
    # the server is stopped, its data dir removed and its PostgreSQL database dropped

Each server gets a data dir of its own (secrets.json, SQLite file, serve.log) and, on
PostgreSQL, a database of its own (`bench_<random>` on the shared server, dropped after),
so benches never touch anything else. `prepare()` (migrate + secrets) runs on entry; the
server is only started by `start()`, so seeding can happen before the workers fork.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text

if TYPE_CHECKING:
    from mamori.context import Context

DEFAULT_PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def create_database(admin_url: str, prefix: str) -> str:
    """A fresh PostgreSQL database named `<prefix>_<random>` on the admin URL's server."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return name


def drop_database(admin_url: str, name: str) -> None:
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def wait_until_ready(
    process: subprocess.Popen[bytes], url: str, name: str, log: Path, timeout: float
) -> None:
    """Return once `url` answers 200; raise with the log's tail if the server dies or
    does not answer within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited:\n{log_tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{name} not ready within {timeout:.0f} s:\n{log_tail(log)}")


def log_tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return ""
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def stop_process(process: subprocess.Popen[bytes] | None) -> None:
    """Ask a server started in its own process group to stop; kill the group if it won't."""
    if process is not None and process.poll() is None:
        process.terminate()  # uvicorn's and gunicorn's supervisors stop their workers
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait(timeout=10)


def children(process: subprocess.Popen[bytes] | None) -> list[int]:
    """The worker processes of a server's supervisor (uvicorn's or gunicorn's)."""
    if process is None:
        return []
    found = subprocess.run(
        ["pgrep", "-P", str(process.pid)], capture_output=True, text=True
    ).stdout.split()
    return [int(pid) for pid in found if not _is_resource_tracker(int(pid))]


def _is_resource_tracker(pid: int) -> bool:
    """multiprocessing's helper beside uvicorn's workers: not a worker."""
    try:
        return b"resource_tracker" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of these processes so far (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / ticks


def memory_kib(pids: list[int], field: str = "VmHWM") -> list[int]:
    """Each process's resident memory in KiB: VmHWM is its peak so far, VmRSS its now."""
    found = []
    for pid in pids:
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith(field + ":"):
                found.append(int(line.split()[1]))
    return found


def mamori_command() -> list[str]:
    """The `mamori` console script next to this interpreter (the project's venv)."""
    script = Path(sys.executable).parent / "mamori"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mamori.cli"]


class MamoriServer:
    def __init__(
        self,
        database: str = "sqlite",
        *,
        workers: int = 2,
        pg_admin_url: str = DEFAULT_PG_ADMIN_URL,
        settings: dict[str, str] | None = None,
    ) -> None:
        if database not in ("sqlite", "postgresql"):
            raise ValueError("database is 'sqlite' or 'postgresql'")
        self.database = database
        self.workers = workers
        self.pg_admin_url = pg_admin_url
        self.settings = dict(settings or {})
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data_dir = Path(tempfile.mkdtemp(prefix=f"mamori-bench-{database}-"))
        self.pg_database: str | None = None
        self.process: subprocess.Popen[bytes] | None = None
        self._ctx: Context | None = None

    @property
    def database_url(self) -> str | None:
        if self.pg_database is None:
            return None
        base = self.pg_admin_url.rsplit("/", 1)[0]
        return f"{base}/{self.pg_database}"

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
        env.update(
            MAMORI_DATA_DIR=str(self.data_dir),
            MAMORI_BASE_URL=self.url,
            # Alerts wait in the outbox; no delivery worker competes for the CPU being measured.
            MAMORI_DELIVERY_WORKER="false",
        )
        if self.database_url:
            env["MAMORI_DATABASE_URL"] = self.database_url
        env.update({f"MAMORI_{k.upper()}": v for k, v in self.settings.items()})
        return env

    def prepare(self) -> None:
        """Create the database (PostgreSQL), the secrets and the schema: `mamori migrate`."""
        if self.database == "postgresql" and self.pg_database is None:
            self.pg_database = create_database(self.pg_admin_url, "bench")
        subprocess.run(
            [*mamori_command(), "migrate"],
            env=self.environment(),
            check=True,
            capture_output=True,
            timeout=300,
        )

    def context(self) -> Context:
        """A Context with the server's settings and secrets (for seeding and inspection)."""
        if self._ctx is None:
            from mamori.bootstrap import build_context
            from mamori.settings import Settings

            fields = {
                k.removeprefix("MAMORI_").lower(): v
                for k, v in self.environment().items()
                if k.startswith("MAMORI_")
            }
            self._ctx = build_context(Settings.model_validate(fields))
        return self._ctx

    def start(self, timeout: float = 120.0) -> None:
        """`mamori serve --workers N` in its own process group; returns once /readyz answers."""
        log = (self.data_dir / "serve.log").open("ab")
        self.process = subprocess.Popen(
            [
                *mamori_command(),
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            env=self.environment(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        wait_until_ready(
            self.process, f"{self.url}/readyz", "mamori serve", self.data_dir / "serve.log", timeout
        )

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor), for profiling."""
        return children(self.process)

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.data_dir / "serve.log", lines)

    def stop(self) -> None:
        stop_process(self.process)
        self.process = None

    def close(self) -> None:
        self.stop()
        if self._ctx is not None:
            self._ctx.database.engine.dispose()
            self._ctx = None
        if self.pg_database is not None:
            drop_database(self.pg_admin_url, self.pg_database)
            self.pg_database = None
        shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> MamoriServer:
        try:
            self.prepare()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
