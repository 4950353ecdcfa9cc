"""Every mamori benchmark in one command; figures go to bench/results/ (JSON + markdown).

    .venv/bin/python bench/run.py            # full: ~25 minutes on 2 cores (1M accounts)
    .venv/bin/python bench/run.py --quick    # a few minutes: short runs, 20,000 accounts

Runs, in order: the hashing limit (bench/limit.py) on SQLite and PostgreSQL, the scale
check (bench/scale.py, PostgreSQL), login with TOTP at 80% of peak (bench/latency.py),
then the django-allauth comparison (bench/peer.py) when it exists, as a subprocess; any
argument this script does not know is passed on to it. PostgreSQL is the shared server on
127.0.0.1:5432 (--pg-admin-url); each bench makes and drops a database of its own.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.latency import measure_latency  # noqa: E402
from bench.limit import measure_limit  # noqa: E402
from bench.scale import measure_scale  # noqa: E402
from bench.soak import measure_soak  # noqa: E402

RESULTS = ROOT / "bench" / "results"
PEER = ROOT / "bench" / "peer.py"


def log(line: str) -> None:
    print(line, flush=True)


def machine() -> str:
    cores = os.cpu_count()
    model = "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    system = f"{platform.system()} {platform.release()}"
    return f"{cores} cores ({model}), {system}, Python {platform.python_version()}"


def run_peer(quick: bool, extra: list[str], timeout: float) -> dict[str, Any]:
    if not PEER.exists():
        return {"skipped": "bench/peer.py is not here"}
    command = [sys.executable, str(PEER), *(["--quick"] if quick else []), *extra]
    log(f"peer: {' '.join(command)}")
    started = time.monotonic()
    try:
        done = subprocess.run(command, cwd=ROOT, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out after {timeout:.0f} s"}
    return {"returncode": done.returncode, "seconds": time.monotonic() - started}


def _fmt(value: float, digits: int = 1) -> str:
    return f"{value:,.{digits}f}"


def markdown(report: dict[str, Any]) -> str:
    lines = [
        f"Run {report['started']} on {report['machine']} "
        f"({'quick' if report['quick'] else 'full'}: `{report['command']}`).",
        "",
        "| Measure | mamori | Reference | Ratio | Target |",
        "|---|---|---|---|---|",
    ]
    if report.get("reruns"):
        reruns = ", ".join(f"{part} at {when}" for part, when in report["reruns"].items())
        lines.insert(1, f"Rerun since: {reruns}.")
    for found in report.get("limit", []):
        lines.append(
            f"| Password logins/s vs argon2id/s of 2 processes ({found['database']}) "
            f"| {_fmt(found['logins_per_second'])}/s "
            f"| {_fmt(found['limit_hashes_per_second'])}/s "
            f"| **{found['ratio']:.2f}** (CPU: {found['hash_cpu_ms']:.1f} ms a hash / "
            f"{found['login_cpu_ms']:.1f} ms a login = {found['cpu_ratio']:.2f}) | ≥ 0.9 |"
        )
    scale = report.get("scale")
    if scale and len(scale["sizes"]) > 1:
        small, large = scale["sizes"][0], scale["sizes"][-1]
        for name, ratio in scale["ratios"].items():
            a, b = small["results"][name], large["results"][name]
            lines.append(
                f"| {name}, {large['accounts']:,} vs {small['accounts']:,} accounts "
                f"(PostgreSQL) | {_fmt(b['rps'])}/s, p50 {_fmt(b['p50_ms'])} ms, "
                f"p99 {_fmt(b['p99_ms'])} ms | {_fmt(a['rps'])}/s, p50 {_fmt(a['p50_ms'])} ms, "
                f"p99 {_fmt(a['p99_ms'])} ms | **{ratio['throughput']:.2f}** "
                f"(p50 {ratio['p50']:.2f}, p99 {ratio['p99']:.2f}) | ≈ 1 (flat) |"
            )
    for found in report.get("latency", []):
        peak, at = found["peak"], found["at_rate"]
        lines.append(
            f"| Login with TOTP at {found['fraction']:.0%} of peak ({found['database']}) "
            f"| {_fmt(at['rps'])}/s: p50 {_fmt(at['p50_ms'])} ms, p99 {_fmt(at['p99_ms'])} ms "
            f"| peak {_fmt(peak['rps'])}/s (p50 {_fmt(peak['p50_ms'])} ms) | | p50/p99 |"
        )
    soak = report.get("soak")
    if soak:
        lines.append(
            f"| Soak: {soak['workload']} at {soak['fraction']:.0%} of peak for "
            f"{soak['seconds'] / 60:.0f} min ({soak['database']}) "
            f"| {_fmt(soak['rate'])}/s; largest worker {_fmt(soak['first_rss_mib'])} → "
            f"{_fmt(soak['last_rss_mib'])} MiB | peak {_fmt(soak['peak']['rps'])}/s "
            f"| **{soak['memory_growth']:+.1%}** | ≤ +5% |"
        )
    if report.get("plans"):
        lines += ["", "PostgreSQL plans at the largest size:", ""]
        lines += [f"- {name}: `{plan}`" for name, plan in report["plans"].items()]
    errors = [
        f"{r['workload']}: {r['errors']} errors, e.g. {r['error_samples'][:1]}"
        for r in _all_loads(report)
        if r["errors"]
    ]
    if errors:
        lines += ["", "Errors:", "", *[f"- {e}" for e in errors]]
    peer = report.get("peer", {})
    if peer:
        lines += ["", f"django-allauth comparison (bench/peer.py): {json.dumps(peer)}"]
    return "\n".join(lines) + "\n"


def _all_loads(report: dict[str, Any]) -> list[dict[str, Any]]:
    loads = [r for found in report.get("limit", []) for r in found["logins"]]
    scale = report.get("scale") or {"sizes": []}
    loads += [r for size in scale["sizes"] for r in size["results"].values()]
    loads += [found[k] for found in report.get("latency", []) for k in ("peak", "at_rate")]
    loads += (report.get("soak") or {}).get("slices", [])
    return loads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 20,000 accounts")
    parser.add_argument("--skip-peer", action="store_true")
    parser.add_argument("--only", choices=["limit", "scale", "latency", "peer", "soak"], nargs="+")
    parser.add_argument(
        "--soak",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="also run the soak (bench/soak.py: 80%% of peak, memory flat?) this long; "
        "600 is the 10-minute run",
    )
    parser.add_argument("--out", type=Path, default=RESULTS)
    args, extra = parser.parse_known_args()
    parts = set(args.only or ["limit", "scale", "latency", "peer"])
    if args.soak:
        parts.add("soak")
    if args.skip_peer:
        parts.discard("peer")
    quick = args.quick
    started = datetime.now(UTC)
    report: dict[str, Any] = {
        "started": started.strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(),
        "quick": quick,
        "command": " ".join(["bench/run.py", *sys.argv[1:]]),
    }
    earlier = args.out / "mamori.json"
    if args.only and earlier.exists():
        # Some parts again: the others keep their figures from the last run, and the table
        # says which parts were rerun when.
        previous = json.loads(earlier.read_text())
        reruns = {**previous.get("reruns", {}), **dict.fromkeys(parts, report["started"])}
        report = {**previous, "reruns": reruns}
    if "limit" in parts:
        log("limit: password logins/s against argon2id/s of two processes")
        report["limit"] = [
            measure_limit(kind, seconds=5 if quick else 15, rounds=1 if quick else 3, log=log)
            for kind in ("sqlite", "postgresql")
        ]
    if "scale" in parts:
        sizes = [1_000, 20_000] if quick else [1_000, 1_000_000]
        log(f"scale: {' vs '.join(f'{s:,}' for s in sizes)} accounts (PostgreSQL)")
        report["scale"] = measure_scale(sizes, seconds=5 if quick else 15, log=log)
        report["plans"] = report["scale"]["sizes"][-1]["plans"]
    if "latency" in parts:
        log("latency: login with TOTP at 80% of peak")
        report["latency"] = [
            measure_latency(kind, seconds=5 if quick else 15, log=log)
            for kind in ("postgresql", "sqlite")
        ]
    if "peer" in parts:
        report["peer"] = run_peer(quick, extra, timeout=1200 if quick else 3600)
    if "soak" in parts:
        seconds = args.soak or (60 if quick else 600)
        log(f"soak: {seconds:.0f} s at 80% of peak (SQLite), resident memory per worker")
        report["soak"] = measure_soak("sqlite", seconds=seconds, log=log)
    report["seconds"] = (datetime.now(UTC) - started).total_seconds()
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mamori.json").write_text(json.dumps(report, indent=2) + "\n")
    table = markdown(report)
    (args.out / "mamori.md").write_text(table)
    log("\n" + table)
    log(f"written to {args.out}/mamori.json and mamori.md")


if __name__ == "__main__":
    main()
