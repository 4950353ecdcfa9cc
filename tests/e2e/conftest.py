"""A real `mamori serve` and headless Debian Chromium driven by Playwright.

Without /usr/bin/chromium (Debian: `apt-get install chromium`) these tests skip and say
so; in CI (CI=true) or with MAMORI_REQUIRE_ALL=1 they fail instead, so CI never passes
without having run them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.core.servers import (
    PER_ADDRESS_LIMITS_RAISED,
    free_port,
    mamori_command,
    wait_until_healthy,
)
from tests.e2e.profiles import PROFILES, Profile, open_page

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PHONE = {"width": 390, "height": 844}
PC = {"width": 1366, "height": 900}


def everything_required() -> bool:
    ci = os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}
    return ci or os.environ.get("MAMORI_REQUIRE_ALL") == "1"


def skip_or_fail(reason: str) -> None:
    if everything_required():
        pytest.fail(f"{reason} (CI=true or MAMORI_REQUIRE_ALL=1: browser tests must run)")
    pytest.skip(reason)


@dataclass(frozen=True)
class Server:
    url: str
    data_dir: Path


@contextmanager
def running_server(
    data_dir: Path, host_name: str = "127.0.0.1", **settings: str
) -> Iterator[Server]:
    """`mamori serve` as README starts it: development mode, SQLite in `data_dir`, plus any
    MAMORI_* `settings` (e.g. RECOVERY_HOLDING_HOURS="0"). `host_name`: what the browser
    calls it ("localhost" for passkeys, which an IP address cannot have)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env.update(MAMORI_ENV="development", MAMORI_DATA_DIR=str(data_dir))
    env["MAMORI_BASE_URL"] = f"http://{host_name}:{port}"
    env.update({f"MAMORI_{name}": value for name, value in settings.items()})
    log = data_dir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*mamori_command(), "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
        yield Server(f"http://{host_name}:{port}", data_dir)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# Every person in the browser tests comes from 127.0.0.1: thirty sign-ups or codes an hour
# from one address is fewer than one worker's browser tests make on the shared server.
@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server for a worker's browser tests, called "localhost" as a person's browser
    would: a passkey's relying party is a domain name, never an IP address."""
    with running_server(
        tmp_path_factory.mktemp("e2e-data"), host_name="localhost", **PER_ADDRESS_LIMITS_RAISED
    ) as started:
        yield started


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        skip_or_fail(f"{CHROMIUM} not found: install Debian's chromium to run the browser tests")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_or_fail("playwright is not installed: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture(params=PROFILES, ids=lambda profile: profile.name)
def profile(request: pytest.FixtureRequest) -> Profile:
    """Issue 12's two people: a phone in Japanese in Tokyo, a PC in English in London."""
    chosen: Profile = request.param
    return chosen


@pytest.fixture
def page(browser: Any, profile: Profile) -> Iterator[Any]:
    """A fresh browser as `profile`'s person holds it (a module may define its own)."""
    opened = open_page(browser, profile)
    yield opened
    opened.context.close()


@dataclass(frozen=True)
class Screenshots:
    """Pages saved as PNG for a person to look at, into the folder MAMORI_E2E_SCREENSHOTS
    names. Without it none is taken: a full-page picture at a phone's pixel ratio cost
    Chromium one to two seconds of CPU, and nobody opened the temporary folder they went to."""

    folder: Path | None

    def save(self, page: Any, name: str) -> None:
        if self.folder is not None:
            page.screenshot(path=self.folder / name, full_page=True)


@pytest.fixture(scope="session")
def screenshots() -> Screenshots:
    chosen = os.environ.get("MAMORI_E2E_SCREENSHOTS")
    if not chosen:
        return Screenshots(None)
    folder = Path(chosen)
    folder.mkdir(parents=True, exist_ok=True)
    return Screenshots(folder)
