"""A real `mamori serve` that can be killed and started again, and accounts prepared over
HTTP the way a person gets them: sign up, turn on an authenticator app, receive codes."""

from __future__ import annotations

import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pyotp

from tests.conftest import PASSWORD
from tests.core.servers import free_port, mamori_command, wait_until_healthy


@dataclass
class Server:
    """`mamori serve --workers N` in its own process group, so SIGKILL takes every worker."""

    data_dir: Path
    settings: dict[str, str]
    workers: int = 2
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.data_dir / f"serve-{self.starts}.log"

    def start(self) -> None:
        self.starts += 1
        self.port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
        env.update(
            MAMORI_ENV="development",
            MAMORI_DATA_DIR=str(self.data_dir),
            MAMORI_BASE_URL=self.url,
        )
        env.update({f"MAMORI_{name}": value for name, value in self.settings.items()})
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    *mamori_command(),
                    *("serve", "--host", "127.0.0.1", "--port", str(self.port)),
                    *("--workers", str(self.workers)),
                ],
                env=env,
                cwd=self.data_dir,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        wait_until_healthy(self.url, self.process, self.log)

    def kill(self) -> None:
        """SIGKILL to the whole process group: the supervisor and every worker at once."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)
        self.process = None

    def stop(self) -> None:
        if self.process is None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        except ProcessLookupError:
            pass
        self.process = None

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Account:
    username: str
    user_id: int
    secret: str
    codes: list[str]


def prepare_account(http: httpx.Client, username: str) -> Account:
    """Sign up, log in, turn on an authenticator app: the account and its backup codes."""
    created = http.post(
        "/api/v1/accounts",
        json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
    )
    assert created.status_code == 201, created.text
    logged_in = http.post("/api/v1/login", json={"login": username, "password": PASSWORD})
    assert logged_in.status_code == 200, logged_in.text
    auth = {"Authorization": f"Bearer {logged_in.json()['token']}"}
    enrollment = http.post("/api/v1/me/two-factor/totp", headers=auth)
    assert enrollment.status_code == 200, enrollment.text
    secret = enrollment.json()["secret"]
    confirmed = http.post(
        "/api/v1/me/two-factor/totp/confirm", headers=auth, json={"code": pyotp.TOTP(secret).now()}
    )
    assert confirmed.status_code == 200, confirmed.text
    return Account(username, int(created.json()["id"]), secret, confirmed.json()["backup_codes"])


def log_in_with_backup_code(http: httpx.Client, username: str, code: str) -> httpx.Response:
    """Password, then a backup code as the second factor: the verify answer."""
    started = http.post("/api/v1/login", json={"login": username, "password": PASSWORD})
    assert started.status_code == 200, started.text
    assert started.json()["status"] == "two_factor_required", started.text
    challenge = started.json()["challenge"]
    return http.post(
        f"/api/v1/login/{challenge}/verify", json={"method": "backup_code", "code": code}
    )
