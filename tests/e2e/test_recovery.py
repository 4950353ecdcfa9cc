""" "Can't log in?" in Chromium (issue 5): phone lost, password known, from the login page
to the security review; and the owner cancelling a recovery from a logged-in session."""

from __future__ import annotations

import json
import re
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, Server, running_server
from tests.e2e.test_sign_up_and_log_in import PASSWORD, assert_fits_the_screen, sign_up

SECURITY = "/accounts/center/password-and-security"
NEW_PASSWORD = "my phone fell into the sea 2026"


@pytest.fixture(scope="module")
def server_without_wait(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Recoveries take effect at once (MAMORI_RECOVERY_HOLDING_HOURS=0), so one test can
    walk from the login page to the security review; the 72-hour wait itself is tested
    with a moved clock in tests/recovery, and in the browser below."""
    with running_server(
        tmp_path_factory.mktemp("e2e-recovery"), RECOVERY_HOLDING_HOURS="0"
    ) as started:
        yield started


def new_page(browser: Any) -> Page:
    context = browser.new_context(viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    page: Page = context.new_page()
    return page


def code_sent_to(server: Server, to: str) -> str:
    with urllib.request.urlopen(f"{server.url}/dev/outbox", timeout=5) as answer:  # noqa: S310
        messages = json.load(answer)
    for message in messages:
        found = re.search(r"\b(\d{6})\b", message["body"])
        if message["to"] == to and found:
            return found.group(1)
    raise AssertionError(f"no code was sent to {to}")


def confirm_email(page: Page, server: Server, username: str) -> None:
    page.goto(f"{server.url}{SECURITY}")
    page.get_by_role("link", name="Contact details").click()
    # Sign-up already sent the code: the page waits for it.
    expect(page.get_by_role("status")).to_contain_text(f"{username}@example.com")
    page.get_by_label("Security code").fill(code_sent_to(server, f"{username}@example.com"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_text("Your e-mail address is confirmed.")).to_be_visible()


def turn_on_the_app(page: Page, server: Server) -> None:
    page.goto(f"{server.url}{SECURITY}/two-factor")
    page.get_by_role("link", name=re.compile("Authentication app")).first.click()
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    page.get_by_label("Enter the 6-digit code from the app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication is on")


def recover_with_email_and_password(page: Page, server: Server, username: str) -> None:
    """Someone with the inbox and the password, but not the phone, on the login page."""
    page.goto(f"{server.url}/login")
    page.get_by_role("link", name="Can't log in?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Can't log in?")
    page.get_by_label("Username, e-mail or phone number").fill(username)
    page.get_by_role("button", name="Continue").click()
    masked = f"{username[0]}•••{username[-1]}@e•••.com"
    expect(page.get_by_label(f"E-mail to {masked}")).to_be_checked()
    assert_fits_the_screen(page)
    page.get_by_role("button", name="Send code").click()
    expect(page.get_by_role("status")).to_contain_text(masked)
    field = page.get_by_label("Security code")
    assert field.get_attribute("autocomplete") == "one-time-code"
    field.fill(code_sent_to(server, f"{username}@example.com"))
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("One more step")
    # Each way says what it does before it is chosen; the password one waits.
    page.get_by_role("link", name="Enter your password").click()
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Confirm").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    expect(page.get_by_text("waiting period")).to_be_visible()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set new password").click()


def test_phone_lost_password_known_from_the_login_page_to_the_security_review(
    browser: Any, server_without_wait: Server, screenshots: Path
):
    server = server_without_wait
    username = f"sora_{secrets.token_hex(3)}"
    owner = new_page(browser)
    sign_up(owner, server, username)
    confirm_email(owner, server, username)
    turn_on_the_app(owner, server)
    owner.context.close()  # the phone with the app is lost

    page = new_page(browser)
    recover_with_email_and_password(page, server, username)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password was changed")
    page.screenshot(path=screenshots / "recovery-done.png", full_page=True)

    page.get_by_role("link", name="Log in").click()
    page.get_by_label("Username, e-mail or phone number").fill(username)
    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()

    expect(page).to_have_url(f"{server.url}/accounts/center/security-review")
    expect(page.get_by_role("heading", level=1)).to_have_text("Review your security")
    expect(page.get_by_role("link", name=re.compile("Set up two-factor"))).to_be_visible()
    assert_fits_the_screen(page)
    page.screenshot(path=screenshots / "recovery-review.png", full_page=True)


def test_the_owner_cancels_a_waiting_recovery_from_a_logged_in_session(
    browser: Any, server: Server
):
    username = f"riku_{secrets.token_hex(3)}"
    owner = new_page(browser)
    sign_up(owner, server, username)
    confirm_email(owner, server, username)
    turn_on_the_app(owner, server)

    stranger = new_page(browser)
    recover_with_email_and_password(stranger, server, username)
    expect(stranger.get_by_role("heading", level=1)).to_have_text("Your recovery is on its way")

    owner.goto(f"{server.url}{SECURITY}")
    expect(owner.get_by_role("alert")).to_contain_text("Someone is recovering your account")
    owner.get_by_role("button", name="This wasn't me — cancel").click()
    expect(owner.get_by_role("heading", level=1)).to_have_text("Recovery cancelled")
    owner.goto(f"{server.url}{SECURITY}")
    expect(owner.get_by_text("Someone is recovering your account")).to_have_count(0)
    owner.context.close()
    stranger.context.close()
