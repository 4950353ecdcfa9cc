"""What every test that runs a real `mamori serve` (or another real server) needs: a free
port, the command, and a wait until it answers."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

# The per-address limits raised far above what a run needs: every person a test plays
# comes from 127.0.0.1, where real people come from addresses of their own. The throttles
# still run; only these thresholds move. Limits per account, per destination and between
# resends stay as shipped unless a test raises them too.
PER_ADDRESS_LIMITS_RAISED = {
    "LOGIN_IP_FAILURES": "100000",
    "SIGNUP_IP_PER_HOUR": "100000",
    "RECOVERY_STARTS_PER_IP_HOUR": "100000",
    "SECURITY_CODE_SENDS_PER_IP_HOUR": "100000",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def mamori_command() -> list[str]:
    """The `mamori` console script next to this interpreter (the project's venv)."""
    script = Path(sys.executable).with_name("mamori")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from mamori.cli import main; main()"]


def wait_until_healthy(
    url: str, process: subprocess.Popen[bytes], log: Path, seconds: float = 60
) -> None:
    """Return once `url`/healthz answers 200; fail with the server's log if it exits or
    does not answer within `seconds` (a guard against hanging, not a measurement)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"mamori serve exited ({process.returncode}):\n{_tail(log)}")
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"mamori serve did not answer /healthz within {seconds:.0f} s:\n{_tail(log)}")


def _tail(log: Path) -> str:
    return log.read_text(errors="replace") if log.exists() else ""
