"""Turn on an authenticator app on the page and log in with it in Chromium (issue 3).
Scan-free: the test reads the key from the page and computes the code itself."""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from mamori.totp.service import STEP_SECONDS, code_at
from tests.e2e.conftest import PC, Server
from tests.e2e.test_backup_codes_lifecycle import log_in_with_password
from tests.e2e.test_sign_up_and_log_in import assert_fits_the_screen, sign_up

TWO_FACTOR = "/accounts/center/password-and-security/two-factor"


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=PC, locale="en-US")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def this_step() -> int:
    return int(time.time()) // STEP_SECONDS  # the server runs on this machine's clock


def next_step_code(key: str) -> str:
    """The code of the step after this one, without waiting for it: the step used to turn
    the app on is spent, and the server accepts a code one step ahead (a phone's clock may
    run fast). Once the step has turned it is the current code, still good."""
    return code_at(key, this_step() + 1)


def test_turn_on_the_app_and_log_in_with_it(page: Page, server: Server):
    username = f"yui_{secrets.token_hex(3)}"
    sign_up(page, server, username)
    page.goto(f"{server.url}{TWO_FACTOR}")
    expect(page.get_by_text("Two-factor authentication is off.")).to_be_visible()
    page.get_by_role("link", name=re.compile("Authentication app")).first.click()
    expect(page.locator(".qr svg")).to_be_visible()
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    assert len(key) == 32
    code_field = page.get_by_label("Enter the 6-digit code from the app")
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    code_field.fill(code_at(key, this_step()))
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication is on")
    page.get_by_role("link", name="Done").click()
    expect(page.get_by_text("Default method")).to_be_visible()
    assert_fits_the_screen(page)

    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, server, username)
    expect(page).to_have_url(f"{server.url}/login/two-factor")
    expect(page.get_by_text("Enter the 6-digit code from your authenticator app.")).to_be_visible()

    # A wrong code is announced; then "Try another way" lists the other methods.
    page.get_by_label("Security code").fill("000000")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("alert")).to_contain_text("isn't valid")
    page.get_by_role("link", name="Try another way").click()
    expect(page.get_by_role("link", name="Use a backup code")).to_be_visible()
    page.get_by_role("link", name="Use your authenticator app").click()

    page.get_by_label("Security code").fill(next_step_code(key))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{server.url}/accounts/center")
    expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()
