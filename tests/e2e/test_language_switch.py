"""The language switch in the middle of a flow keeps the person on the same step with the
same state (issue 12), on a phone in Japanese in Tokyo and on a PC in English in London:
the same key while setting up the app, the same backup codes once it is on, the same
chosen method on the two-factor step."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from mamori.totp.service import code_at
from tests.e2e.conftest import Server
from tests.e2e.profiles import Profile, assert_fits_the_screen
from tests.e2e.steps import (
    backup_codes_shown,
    expect_logged_in,
    log_in_with_password,
    log_out,
    new_username,
    open_the_app_set_up,
    sign_up,
    switch_language,
    this_step,
)


def test_switching_language_keeps_the_step_and_its_state(
    page: Page, profile: Profile, server: Server
):
    p, username = profile, new_username("mio")
    other = p.switched()
    sign_up(page, p, server, username)

    # Setting up the app: the same QR code and key in the other language.
    key = open_the_app_set_up(page, p, server)
    setting_up, qr = page.url, page.locator(".qr svg").inner_html()
    switch_language(page, p)
    expect(page).to_have_url(setting_up)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        other.say("Set up an authentication app")
    )
    assert page.locator("#totp-key").inner_text().replace(" ", "") == key
    assert page.locator(".qr svg").inner_html() == qr
    assert_fits_the_screen(page)

    # A mistyped code keeps them there too, and so does switching back.
    page.get_by_label(other.say("Enter the 6-digit code from the app")).fill("000000")
    page.get_by_role("button", name=other.say("Turn on")).click()
    expect(page.get_by_role("alert")).to_contain_text(other.say("That code isn't valid"))
    switch_language(page, other)
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Set up an authentication app"))
    assert page.locator("#totp-key").inner_text().replace(" ", "") == key

    # Turned on: the backup codes stay in view through a switch.
    page.get_by_label(p.say("Enter the 6-digit code from the app")).fill(code_at(key, this_step()))
    page.get_by_role("button", name=p.say("Turn on")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        p.say("Two-factor authentication is on")
    )
    codes = backup_codes_shown(page)
    switch_language(page, p)
    expect(page.get_by_role("heading", level=1)).to_have_text(
        other.say("Two-factor authentication is on")
    )
    assert backup_codes_shown(page) == codes
    switch_language(page, other)

    # On the two-factor step, the method chosen stays chosen.
    log_out(page, p, server)
    log_in_with_password(page, p, server, username)
    page.get_by_role("link", name=p.say("Try another way")).click()
    page.get_by_role("link", name=p.say("Use a backup code")).click()
    step = page.url
    switch_language(page, p)
    expect(page).to_have_url(step)
    field = page.get_by_label(other.say("Backup code"))
    expect(field).to_be_visible()
    assert_fits_the_screen(page)
    field.fill(codes[0])
    page.get_by_role("button", name=other.say("Confirm")).click()
    page.get_by_role("link", name=other.say("Continue")).click()
    expect_logged_in(page, other, server, username)
