"""The two-factor step in Chromium (issue 12): "Get a code by text message" sends at
once and counts down to when a new code may be sent; Back after logging in goes on."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, Server
from tests.e2e.test_backup_codes_lifecycle import log_in_with_password
from tests.e2e.test_sign_up_and_log_in import assert_fits_the_screen, sign_up

TEXT_MESSAGE = "/accounts/center/password-and-security/two-factor/text-message"
NUMBER = "+819012345678"


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=PHONE, locale="en-US", timezone_id="Asia/Tokyo")
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def texts(page: Page, server: Server) -> list[str]:
    outbox = page.request.get(f"{server.url}/dev/outbox", headers={"Accept": "application/json"})
    return [m["body"] for m in outbox.json() if m["to"] == NUMBER]


def latest_code(page: Page, server: Server) -> str:
    found = re.search(r"\b(\d{6})\b", texts(page, server)[0])
    assert found
    return found.group(1)


def test_text_message_is_sent_when_chosen_and_back_goes_on(page: Page, server: Server):
    username = f"sora_{secrets.token_hex(3)}"
    sign_up(page, server, username)
    page.goto(f"{server.url}{TEXT_MESSAGE}")
    page.locator("#phone").fill("090-1234-5678")
    page.locator("main form button.primary").click()
    page.locator("#code").fill(latest_code(page, server))
    page.locator("main form button.primary").click()
    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, server, username)
    sent_before = len(texts(page, server))

    page.get_by_role("link", name="Try another way").click()
    page.get_by_role("button", name="Get a code by text message").click()

    expect(page.get_by_role("status").first).to_contain_text("We sent a code to")
    assert len(texts(page, server)) == sent_before + 1
    wait = page.locator("#resend-wait")
    expect(wait).to_contain_text(re.compile(r"You can get a new code in \d+ seconds\."))
    first = wait.inner_text()
    expect(wait).not_to_have_text(first)  # it counts down
    expect(page.get_by_role("button", name="Send a new code")).to_be_disabled()
    assert_fits_the_screen(page)

    page.get_by_label("Security code").fill(latest_code(page, server))
    page.get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(f"{server.url}/accounts/center")

    page.go_back()
    expect(page).to_have_url(f"{server.url}/accounts/center")
    expect(page.get_by_text("expired")).to_have_count(0)
