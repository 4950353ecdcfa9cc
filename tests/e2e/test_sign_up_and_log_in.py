"""Sign up with a confirmed e-mail address, log out and in again, in Chromium (issue 12):
on a phone in Japanese in Tokyo and on a PC in English in London."""

from __future__ import annotations

from datetime import UTC, datetime

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Screenshots, Server
from tests.e2e.profiles import Profile, assert_fits_the_screen, shows_one_of
from tests.e2e.steps import (
    PASSWORD,
    SECURITY,
    code_sent_to,
    expect_logged_in,
    log_in_with_password,
    log_out,
    new_username,
)

TOO_COMMON = "1qaz2wsx3edc4rfv"


def test_sign_up_confirm_the_e_mail_and_log_in_with_it(
    page: Page, profile: Profile, server: Server, screenshots: Screenshots
):
    p, username = profile, new_username("hana")
    address = f"{username}@example.com"
    started = datetime.now(UTC)

    page.goto(f"{server.url}/signup")
    expect(page.locator("html")).to_have_attribute("lang", p.lang)  # from the browser
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Create an account"))
    assert page.get_by_label(p.say("Username")).get_attribute("autocomplete") == "username"
    password = page.get_by_label(p.say("Password"), exact=True)
    assert password.get_attribute("autocomplete") == "new-password"
    assert_fits_the_screen(page)
    screenshots.save(page, f"{p.name}-1-signup.png")

    # Too common a password: refused in the person's language, what they typed kept.
    page.get_by_label(p.say("Username")).fill(username)
    password.fill(TOO_COMMON)
    page.get_by_label(p.say("E-mail (optional)")).fill(address)
    page.get_by_role("button", name=p.say("Sign up")).click()
    expect(page.get_by_role("alert")).to_contain_text(
        p.say("That password is one of the most common; choose another")
    )
    expect(page.get_by_label(p.say("E-mail (optional)"))).to_have_value(address)
    assert_fits_the_screen(page)

    # The address given is sent a code at once, and the next page asks for it.
    page.get_by_label(p.say("Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=p.say("Sign up")).click()
    expect(page).to_have_url(f"{server.url}/signup/confirm")
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Confirm your e-mail address"))
    expect(
        page.get_by_text(p.say("We e-mailed a 6-digit code to {address}.", address=address))
    ).to_be_visible()
    code_field = page.get_by_label(p.say("Security code"))
    assert code_field.get_attribute("autocomplete") == "one-time-code"
    assert_fits_the_screen(page)
    screenshots.save(page, f"{p.name}-2-confirm-email.png")
    code_field.fill(code_sent_to(page, server, address))
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        p.say("Your e-mail address is confirmed.")
    )
    page.get_by_role("link", name=p.say("Continue")).click()
    expect_logged_in(page, p, server, username)

    # Where they're logged in: the time of this login in their zone, the zone named.
    page.goto(f"{server.url}{SECURITY}")
    page.get_by_role("link", name=p.say("Where you're logged in")).click()
    sessions = page.locator("#sessions").inner_text()
    logged_in = [p.say("Logged in {when}", when=t) for t in p.times(started, datetime.now(UTC))]
    assert shows_one_of(sessions, logged_in), f"{sessions!r} has none of {logged_in}"
    assert_fits_the_screen(page)
    screenshots.save(page, f"{p.name}-3-sessions.png")

    # Out, and back in with the confirmed address: a wrong password first.
    log_out(page, p, server)
    login = page.get_by_label(p.say("Username, e-mail or phone number"))
    assert login.get_attribute("autocomplete") == "username webauthn"  # passkeys autofill too
    log_in_with_password(page, p, server, address, "not my password at all")
    expect(page.get_by_role("alert")).to_have_text(p.say("The login or password isn't right"))
    expect(page.get_by_label(p.say("Username, e-mail or phone number"))).to_have_value(address)
    assert_fits_the_screen(page)
    page.get_by_label(p.say("Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=p.say("Log in"), exact=True).click()
    expect_logged_in(page, p, server, username)
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Accounts Center"))
