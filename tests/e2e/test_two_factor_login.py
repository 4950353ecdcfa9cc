"""Turn on an authenticator app on the page and log in with it in Chromium (issues 3, 12),
on a phone in Japanese in Tokyo and on a PC in English in London. Scan-free: the test
reads the key from the page and computes the code itself."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from mamori.totp.service import code_at
from tests.e2e.conftest import Server
from tests.e2e.profiles import Profile, assert_fits_the_screen, shows_one_of
from tests.e2e.steps import (
    SECURITY,
    TWO_FACTOR,
    expect_logged_in,
    log_in_with_password,
    log_out,
    new_username,
    next_step_code,
    open_the_app_set_up,
    sign_up,
    this_step,
)


def test_turn_on_the_app_and_log_in_with_it(page: Page, profile: Profile, server: Server):
    p, username = profile, new_username("yui")
    sign_up(page, p, server, username)
    page.goto(f"{server.url}{TWO_FACTOR}")
    expect(page.get_by_text(p.say("Two-factor authentication is off."))).to_be_visible()
    key = open_the_app_set_up(page, p, server)
    assert len(key) == 32
    expect(page.locator(".qr svg")).to_be_visible()
    link = page.locator("#otpauth-link")  # set up on the phone that shows the page
    assert (link.get_attribute("href") or "").startswith("otpauth://totp/")
    assert key in (link.get_attribute("href") or "")
    code_field = page.get_by_label(p.say("Enter the 6-digit code from the app"))
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert code_field.get_attribute("inputmode") == "numeric"
    assert_fits_the_screen(page)
    code_field.fill(code_at(key, this_step()))
    page.get_by_role("button", name=p.say("Turn on")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        p.say("Two-factor authentication is on")
    )
    assert_fits_the_screen(page)
    page.get_by_role("link", name=p.say("Done")).click()
    expect(page.get_by_text(p.say("Default method"))).to_be_visible()
    assert_fits_the_screen(page)

    log_out(page, p, server)
    logging_in = datetime.now(UTC)
    log_in_with_password(page, p, server, username)
    expect(page).to_have_url(f"{server.url}/login/two-factor")
    expect(
        page.get_by_text(p.say("Enter the 6-digit code from your authenticator app."))
    ).to_be_visible()
    assert_fits_the_screen(page)

    # A wrong code is announced; then "Try another way" lists the other methods.
    page.get_by_label(p.say("Security code")).fill("000000")
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect(page.get_by_role("alert")).to_contain_text(p.say("That code isn't valid"))
    page.get_by_role("link", name=p.say("Try another way")).click()
    expect(page.get_by_role("link", name=p.say("Use a backup code"))).to_be_visible()
    page.get_by_role("link", name=p.say("Use your authenticator app")).click()

    page.get_by_label(p.say("Security code")).fill(next_step_code(key))
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect_logged_in(page, p, server, username)

    # This login is listed with its time in the person's zone, the zone named.
    page.goto(f"{server.url}{SECURITY}")
    page.get_by_role("link", name=p.say("Where you're logged in")).click()
    sessions = page.locator("#sessions").inner_text()
    this_login = [p.say("Logged in {when}", when=t) for t in p.times(logging_in, datetime.now(UTC))]
    assert shows_one_of(sessions, this_login), f"{sessions!r} has none of {this_login}"
    assert re.search(r"\(日本時間\)" if p.lang == "ja" else r" (GMT|BST)\b", sessions)
