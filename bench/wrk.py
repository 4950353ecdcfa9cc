"""The plain GET rows through wrk, a compiled load generator, so the client is not what
limits either server (the Python load generator costs ~0.1 ms of CPU a request, which on
2 shared cores is a large share of a 1 ms request).

    from bench.wrk import run_wrk, wrk_path

    result = run_wrk(url + "/api/v1/me", "Authorization", "Bearer ", tokens, clients=8,
                     seconds=8, name="who am i")     # a LoadResult, like run_load's

Debian's `wrk` package; the bench installs it with apt-get when it is missing and it can
(as bench/peer.py installs the peer). Each connection sends the tokens in turn (one Lua
state per wrk thread), with keep-alive, closed loop: `clients` connections, one thread.
Its CPU is the child's rusage, reported as the load generator's.
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.loadgen import KEPT_ERRORS, LoadResult

_SCRIPT = """
local tokens = {%(tokens)s}
local i = 0
request = function()
  i = i + 1
  local headers = {}
  headers["%(header)s"] = "%(prefix)s" .. tokens[(i %% #tokens) + 1]
  headers["Accept"] = "application/json"
  return wrk.format("GET", nil, headers)
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRK-JSON {\\"requests\\": %%d, \\"duration_us\\": %%d, \\"p50_us\\": %%d, " ..
    "\\"p99_us\\": %%d, \\"mean_us\\": %%f, \\"status_errors\\": %%d, \\"socket_errors\\": %%d}\\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.mean, e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def wrk_path() -> str | None:
    """wrk on PATH, installed with apt-get if missing and possible; None otherwise."""
    found = shutil.which("wrk")
    if found or not shutil.which("apt-get"):
        return found
    subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, capture_output=True)
    return shutil.which("wrk")


def run_wrk(
    url: str,
    header: str,
    prefix: str,
    tokens: list[str],
    *,
    clients: int,
    seconds: float,
    warmup: float = 1.0,
    name: str = "who am i",
) -> LoadResult:
    """`clients` keep-alive connections for warmup + seconds; figures of the last `seconds`
    (the warm-up is a run of its own, as in bench.loadgen)."""
    wrk = wrk_path()
    if wrk is None:
        raise RuntimeError("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="mamori-wrk-") as folder:
        script = Path(folder) / "tokens.lua"
        script.write_text(
            _SCRIPT
            % {
                "tokens": ", ".join(json.dumps(t) for t in tokens),
                "header": header,
                "prefix": prefix,
            }
        )
        command = [wrk, "-t1", f"-c{clients}", "--latency", "-s", str(script), "--timeout", "10s"]
        if warmup > 0:
            subprocess.run(
                [*command, f"-d{max(1, round(warmup))}s", url], capture_output=True, check=True
            )
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        done = subprocess.run(
            [*command, f"-d{max(1, round(seconds))}s", url],
            capture_output=True,
            text=True,
            check=True,
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in done.stdout.splitlines() if x.startswith("WRK-JSON "))
    figures = json.loads(line.removeprefix("WRK-JSON "))
    measured = figures["duration_us"] / 1e6
    errors = figures["status_errors"] + figures["socket_errors"]
    ops = figures["requests"] - figures["status_errors"]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    samples = [f"{figures['status_errors']} answers not 2xx/3xx"] if errors else []
    return LoadResult(
        workload=name,
        mode="closed",
        clients=clients,
        processes=1,
        seconds=measured,
        ops=ops,
        errors=errors,
        rps=ops / measured if measured else float("nan"),
        p50_ms=figures["p50_us"] / 1000,
        p99_ms=figures["p99_us"] / 1000,
        mean_ms=figures["mean_us"] / 1000,
        answered=figures["requests"],
        error_samples=samples[:KEPT_ERRORS],
        loadgen="wrk",
        loadgen_cpu_seconds=cpu,
    )
