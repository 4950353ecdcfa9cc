"""Take the screenshots in docs/img/ from a real mamori at phone width (390 px).

    .venv/bin/python docs/screenshots.py

It starts `mamori serve` in development mode with a data directory of its own on a free
port, drives Chromium (`/usr/bin/chromium`, as the browser tests do) through sign-up and
turning on two-factor with an authenticator app, and saves, in English and Japanese:

- `login.png` (`login.ja.png`): the login page;
- `backup-codes.png` (`backup-codes.ja.png`): the backup codes shown when two-factor
  was turned on.

Rerun it after a change to those pages and commit the images.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pyotp
from playwright.sync_api import Page, ViewportSize, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
IMAGES = ROOT / "docs" / "img"
CHROMIUM = "/usr/bin/chromium"
PHONE: ViewportSize = {"width": 390, "height": 844}
PASSWORD = "correct horse battery staple"  # noqa: S105 (a throwaway account on a scratch server)
TWO_FACTOR = "/accounts/center/password-and-security/two-factor"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def running_mamori() -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as data:
        environment = {**os.environ, "MAMORI_ENV": "development", "MAMORI_DATA_DIR": data}
        environment.pop("MAMORI_DATABASE_URL", None)
        environment.pop("MAMORI_REDIS_URL", None)
        server = subprocess.Popen(  # noqa: S603 (our own command line)
            [str(Path(sys.executable).parent / "mamori"), "serve", "--port", str(port)],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            wait_until_healthy(url)
            yield url
        finally:
            server.terminate()
            server.wait(timeout=30)


def wait_until_healthy(url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2):  # noqa: S310 (our own server)
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"mamori did not answer at {url}/healthz within 60 s")


def take(url: str, page: Page, language: str) -> None:
    suffix = "" if language == "en" else f".{language}"
    username = f"hana_{secrets.token_hex(3)}"

    page.goto(f"{url}/signup")
    page.locator("input[name=username]").fill(username)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_url(f"{url}/accounts/center")

    page.goto(f"{url}{TWO_FACTOR}/authenticator")
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    page.locator("input[name=code]").fill(pyotp.TOTP(key).now())
    page.locator("form button[type=submit]").last.click()
    page.locator("#backup-codes-list").wait_for()
    page.screenshot(path=IMAGES / f"backup-codes{suffix}.png", full_page=True)

    page.context.clear_cookies()
    page.goto(f"{url}/login")
    page.screenshot(path=IMAGES / f"login{suffix}.png")


def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    with running_mamori() as url, sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for language, locale in (("en", "en-US"), ("ja", "ja-JP")):
            context = browser.new_context(
                viewport=PHONE, locale=locale, is_mobile=True, has_touch=True
            )
            context.set_default_timeout(20_000)
            take(url, context.new_page(), language)
            context.close()
        browser.close()
    for image in sorted(IMAGES.glob("*.png")):
        print(re.sub(f"^{re.escape(str(ROOT))}/", "", str(image)))


if __name__ == "__main__":
    main()
