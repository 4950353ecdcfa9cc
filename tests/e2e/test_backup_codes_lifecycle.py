"""The whole backup-code life in Chromium (issue 4): turn on two-factor, download the
.txt, log out, log in with a code from the file, view the codes, get new codes."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, Server
from tests.e2e.test_sign_up_and_log_in import PASSWORD, assert_fits_the_screen, sign_up

TWO_FACTOR = "/accounts/center/password-and-security/two-factor"


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(
        viewport=PHONE, locale="en-US", is_mobile=True, has_touch=True, accept_downloads=True
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def log_in_with_password(page: Page, server: Server, username: str) -> None:
    page.goto(f"{server.url}/login")
    page.get_by_label("Username, e-mail or phone number").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()


def use_backup_code(page: Page, code: str) -> None:
    page.get_by_role("link", name="Try another way").click()
    page.get_by_role("link", name="Use a backup code").click()
    page.get_by_label("Backup code").fill(code)
    page.get_by_role("button", name="Confirm").click()


def test_backup_codes_from_turning_on_to_new_codes(page: Page, server: Server, screenshots: Path):
    username = f"kaito_{secrets.token_hex(3)}"
    sign_up(page, server, username)

    # Turn on two-factor with an authenticator app.
    page.goto(f"{server.url}{TWO_FACTOR}")
    page.get_by_role("link", name=re.compile("Authentication app")).first.click()
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    page.get_by_label("Enter the 6-digit code from the app").fill(pyotp.TOTP(key).now())
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication is on")
    shown = page.locator("#backup-codes-list .code").all_inner_texts()
    assert len(shown) == 10 and all(re.fullmatch(r"\d{4} \d{4}", c) for c in shown)
    assert_fits_the_screen(page)
    page.screenshot(path=screenshots / "backup-1-turned-on.png", full_page=True)

    # Download the .txt: it holds exactly the codes shown.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download (.txt)").click()
    saved = Path(download_info.value.path())
    in_file = re.findall(r"\b\d{4} \d{4}\b", saved.read_text())
    assert sorted(in_file) == sorted(shown)

    # Log out, then log in with a code typed from the file (hyphenated, as people do).
    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, server, username)
    expect(page).to_have_url(f"{server.url}/login/two-factor")
    first = in_file[0]
    use_backup_code(page, first.replace(" ", "-"))
    expect(page.locator("#codes-left")).to_have_text("9 backup codes left")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/accounts/center")

    # View the codes again: the used one is struck through with its date, 9 remain.
    page.goto(f"{server.url}{TWO_FACTOR}/backup-codes")
    expect(page.locator("#backup-codes-remaining")).to_contain_text("9 of 10")
    expect(page.locator("#backup-codes-list del .code")).to_have_text([first])
    page.screenshot(path=screenshots / "backup-2-viewed.png", full_page=True)

    # Get new codes: the whole set changes and an old unused code stops working.
    # It asks first, saying the old codes stop working.
    page.get_by_role("link", name="Get new codes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Get new codes?")
    page.get_by_role("button", name="Get new codes").click()
    fresh = page.locator("#backup-codes-list .code").all_inner_texts()
    assert len(fresh) == 10 and not set(fresh) & set(shown)

    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name="Log out").click()
    log_in_with_password(page, server, username)
    use_backup_code(page, in_file[1])
    expect(page.get_by_role("alert")).to_contain_text("isn't valid")
    page.get_by_label("Backup code").fill(fresh[0])
    page.get_by_role("button", name="Confirm").click()
    expect(page.locator("#codes-left")).to_have_text("9 backup codes left")
    page.get_by_role("link", name="Continue").click()
    expect(page).to_have_url(f"{server.url}/accounts/center")
