"""A lean HTTP load generator that runs in processes of its own, bounded in time.

Interface (shared by every bench in this folder, mamori's and the django-allauth peer's):

    from bench.loadgen import HttpClient, Workload, run_load

    class WhoAmI:                              # any object with these two methods
        name = "who am i"
        def __init__(self, tokens: list[str]) -> None:
            self.tokens = tokens
        def prepare(self, n: int) -> str:      # untimed: data for the n-th operation
            return self.tokens[n % len(self.tokens)]
        def run(self, client: HttpClient, token: str) -> None:   # timed: one operation
            client.request("GET", "/api/v1/me", headers={"Authorization": f"Bearer {token}"},
                           expect=200)

    result = run_load("http://127.0.0.1:8000", WhoAmI(tokens), clients=8, seconds=10)
    print(result.rps, result.p50_ms, result.p99_ms, result.errors)

- `n` is unique across every client and process of one run (0, 1, 2, ... interleaved), so a
  workload can give each operation its own account (a TOTP code or a backup code cannot be
  replayed). `max_ops` stops the run when the accounts run out.
- An operation may make several requests (password, then second factor): it is timed as
  one, from before `run` to after it. Anything `run` raises counts as an error (the first
  few messages are kept); `HttpClient.request(..., expect=200)` raises on another status.
- Closed loop (default): `clients` concurrent clients, each sending its next operation as
  soon as the previous one answered: the peak throughput.
- Open loop (`rate=...` operations/s): operations are due on a fixed schedule whatever the
  server does, and latency counts from when each was due, so a server that falls behind is
  seen as slow (no "coordinated omission"). `clients` is then the pool that sends them.
- The workload is pickled into the load processes (multiprocessing "spawn"): it must be
  an instance of a class defined at module level, holding plain data.
- Load runs in `processes` separate processes (default 1) on this machine; on 2 shared
  cores the generator steals CPU from the server, which is why it uses http.client with
  keep-alive and threads rather than a heavier client: a request costs it ~0.1 ms of CPU.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import statistics
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
KEPT_ERRORS = 5


class LoadError(Exception):
    """An operation that did not get the answer it expected."""


@dataclass
class Response:
    status: int
    body: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return json.loads(self.body)


class HttpClient:
    """One keep-alive connection to the server (reopened after an error). Not thread-safe:
    each load client has its own."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        form: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        expect: int | tuple[int, ...] | None = None,
    ) -> Response:
        sent = dict(headers or {})
        body: bytes | None = None
        if json_body is not None:
            body = json.dumps(json_body).encode()
            sent.setdefault("Content-Type", "application/json")
        elif form is not None:
            from urllib.parse import urlencode

            body = urlencode(form).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        connection = self._connect()
        try:
            connection.request(method, path, body=body, headers=sent)
            answer = connection.getresponse()
            response = Response(answer.status, answer.read(), dict(answer.getheaders()))
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if answer.will_close:
            self.close()
        allowed = (expect,) if isinstance(expect, int) else expect
        if allowed is not None and response.status not in allowed:
            raise LoadError(f"{method} {path}: {response.status} {response.body[:200]!r}")
        return response

    def _connect(self) -> http.client.HTTPConnection:
        if self._connection is None:
            self._connection = http.client.HTTPConnection(
                self.host, self.port, timeout=self.timeout
            )
        return self._connection

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Workload(Protocol[T]):
    name: str

    def prepare(self, n: int) -> T: ...

    def run(self, client: HttpClient, data: T) -> None: ...


@dataclass
class LoadResult:
    workload: str
    mode: str  # "closed" or "open"
    clients: int
    processes: int
    seconds: float  # measured wall time
    ops: int  # operations completed without error
    errors: int
    rps: float  # operations completed per second
    p50_ms: float
    p99_ms: float
    mean_ms: float
    target_rate: float | None = None
    answered: int = 0  # every operation that got to an end, warm-up included (CPU accounting)
    error_samples: list[str] = field(default_factory=list)
    # The load generator's own CPU (user + system, every load process, warm-up included):
    # on 2 shared cores it is CPU the server did not get.
    loadgen: str = "python"
    loadgen_cpu_seconds: float = 0.0

    @property
    def loadgen_cpu_ms_per_op(self) -> float:
        return self.loadgen_cpu_seconds * 1000 / max(self.answered, 1)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "loadgen_cpu_ms_per_op": self.loadgen_cpu_ms_per_op}

    def line(self) -> str:
        rate = f" (target {self.target_rate:.1f}/s)" if self.target_rate else ""
        return (
            f"{self.workload:<28} {self.rps:8.1f} ops/s{rate}  p50 {self.p50_ms:7.1f} ms  "
            f"p99 {self.p99_ms:7.1f} ms  errors {self.errors}  "
            f"[{self.loadgen} {self.loadgen_cpu_ms_per_op:.2f} ms CPU/op]"
        )


@dataclass
class _Plan:
    base_url: str
    workload: Any
    clients: int  # in this process
    first_index: int  # this process's first operation number
    stride: int  # operation numbers of one client (closed) or process (open) step by this
    seconds: float
    warmup: float
    rate: float | None  # per process, open loop
    max_ops: int | None


def _percentile(sorted_values: list[float], fraction: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(fraction * len(sorted_values)) - 1))
    return sorted_values[index]


def _load_process(plan: _Plan, out: Any) -> None:
    """One load process: threads, each a client; latencies measured after the warm-up."""
    workload = plan.workload
    latencies: list[list[float]] = [[] for _ in range(plan.clients)]
    errors = [0] * plan.clients
    answered = [0] * plan.clients
    samples: list[str] = []
    start = time.perf_counter() + 0.2  # let every thread get ready
    measure_from = start + plan.warmup
    stop_at = measure_from + plan.seconds
    lock = threading.Lock()
    next_slot = [0]  # open loop: the next scheduled operation of this process

    def closed_client(slot: int) -> None:
        client = HttpClient(plan.base_url)
        index = plan.first_index + slot
        step = 0
        time.sleep(max(0.0, start - time.perf_counter()))
        while True:
            n = index + step * plan.stride
            step += 1
            if plan.max_ops is not None and n >= plan.max_ops:
                break
            data = workload.prepare(n)
            began = time.perf_counter()
            if began >= stop_at:
                break
            ok = _attempt(client, data)
            ended = time.perf_counter()
            answered[slot] += 1
            if began >= measure_from and ended <= stop_at:
                _count(slot, ok, ended - began)
        client.close()

    def open_client(slot: int) -> None:
        client = HttpClient(plan.base_url)
        assert plan.rate is not None
        interval = 1.0 / plan.rate
        while True:
            with lock:
                k = next_slot[0]
                next_slot[0] += 1
            due = start + k * interval
            n = plan.first_index + k * plan.stride
            if due >= stop_at or (plan.max_ops is not None and n >= plan.max_ops):
                break
            data = workload.prepare(n)
            time.sleep(max(0.0, due - time.perf_counter()))
            ok = _attempt(client, data)
            ended = time.perf_counter()
            answered[slot] += 1
            if due >= measure_from:
                _count(slot, ok, ended - due)  # from when it was due, not when it went
        client.close()

    def _attempt(client: HttpClient, data: Any) -> str | None:
        try:
            workload.run(client, data)
        except Exception as error:
            return f"{type(error).__name__}: {error}"[:300]
        return None

    def _count(slot: int, failure: str | None, seconds: float) -> None:
        if failure is None:
            latencies[slot].append(seconds)
        else:
            errors[slot] += 1
            if len(samples) < KEPT_ERRORS:
                samples.append(failure)

    target = open_client if plan.rate else closed_client
    cpu = time.process_time()  # this process, every thread
    threads = [threading.Thread(target=target, args=(i,), daemon=True) for i in range(plan.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=plan.warmup + plan.seconds + 60)
    out.put(
        {
            "latencies": [x for per_client in latencies for x in per_client],
            "errors": sum(errors),
            "answered": sum(answered),
            "samples": samples,
            "cpu_seconds": time.process_time() - cpu,
        }
    )


def run_load(
    base_url: str,
    workload: Workload[Any],
    *,
    clients: int = 8,
    seconds: float = 10.0,
    warmup: float = 1.0,
    processes: int = 1,
    rate: float | None = None,
    max_ops: int | None = None,
) -> LoadResult:
    """Run `workload` against base_url from `processes` new processes for warmup + seconds.

    Closed loop with `clients` concurrent clients (spread over the processes), or open loop
    at `rate` operations per second when given. Operation numbers passed to prepare() are
    unique within the run; with max_ops they stay below it (one account per operation)."""
    processes = max(1, min(processes, clients))
    spawn = multiprocessing.get_context("spawn")
    queue = spawn.Queue()
    workers = []
    first = 0
    for p in range(processes):
        mine = clients // processes + (1 if p < clients % processes else 0)
        plan = _Plan(
            base_url=base_url,
            workload=workload,
            clients=mine,
            first_index=first if rate is None else p,
            stride=clients if rate is None else processes,
            seconds=seconds,
            warmup=warmup,
            rate=rate / processes if rate else None,
            max_ops=max_ops,
        )
        first += mine
        process = spawn.Process(target=_load_process, args=(plan, queue), daemon=True)
        process.start()
        workers.append(process)
    deadline = time.monotonic() + warmup + seconds + 120
    reports = []
    for _ in workers:
        reports.append(queue.get(timeout=max(1.0, deadline - time.monotonic())))
    for process in workers:
        process.join(timeout=10)
        if process.is_alive():
            process.kill()
    latencies = sorted(x * 1000 for report in reports for x in report["latencies"])
    errors = sum(report["errors"] for report in reports)
    return LoadResult(
        workload=getattr(workload, "name", type(workload).__name__),
        mode="open" if rate else "closed",
        clients=clients,
        processes=processes,
        seconds=seconds,
        ops=len(latencies),
        errors=errors,
        rps=len(latencies) / seconds,
        p50_ms=_percentile(latencies, 0.50),
        p99_ms=_percentile(latencies, 0.99),
        mean_ms=statistics.fmean(latencies) if latencies else float("nan"),
        target_rate=rate,
        answered=sum(report["answered"] for report in reports),
        error_samples=[s for report in reports for s in report["samples"]][:KEPT_ERRORS],
        loadgen_cpu_seconds=sum(report["cpu_seconds"] for report in reports),
    )
