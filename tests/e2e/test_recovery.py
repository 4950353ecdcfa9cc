""" "Can't log in?" in Chromium (issues 5, 12), both ways, on a phone in Japanese in Tokyo
and on a PC in English in London: an e-mailed code and a backup code is instant and keeps
two-factor; an e-mailed code and the password waits 72 hours, says until when in the
person's own zone, and the owner can cancel it from a logged-in session."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Screenshots, Server, running_server
from tests.e2e.profiles import PHONE_IN_TOKYO, Profile, assert_fits_the_screen, open_page
from tests.e2e.steps import (
    PASSWORD,
    SECURITY,
    code_sent_to,
    confirm_email,
    fill_in_login,
    new_username,
    sign_up,
    turn_on_the_app,
)

NEW_PASSWORD = "my phone fell into the sea 2026"
WAIT = timedelta(hours=72)  # the default MAMORI_RECOVERY_HOLDING_HOURS


def owner_with_the_app(
    browser: Any, p: Profile, server: Server, username: str
) -> tuple[Page, list[str]]:
    """Signed up, address confirmed, two-factor on with the app: the backup codes."""
    owner = open_page(browser, p)
    sign_up(owner, p, server, username)
    confirm_email(owner, p, server, username)
    _, codes = turn_on_the_app(owner, p, server)
    return owner, codes


def prove_the_inbox(
    page: Page,
    p: Profile,
    server: Server,
    username: str,
    second_way_says: str = "Takes 72 hours, then turns off two-factor authentication.",
) -> None:
    """From the login page to the second step, with the code e-mailed to the account."""
    page.goto(f"{server.url}/login")
    page.get_by_role("link", name=p.say("Can't log in?")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Can't log in?"))
    page.get_by_label(p.say("Username, e-mail or phone number")).fill(username)
    page.get_by_role("button", name=p.say("Continue")).click()
    assert_fits_the_screen(page)
    page.get_by_role("button", name=p.say("Send code")).click()
    field = page.get_by_label(p.say("Security code"))
    assert field.get_attribute("autocomplete") == "one-time-code"
    field.fill(code_sent_to(page, server, f"{username}@example.com"))
    page.get_by_role("button", name=p.say("Confirm")).click()
    # The chooser: each way says what it does before it is chosen.
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("One more step"))
    instant = page.get_by_role("link", name=re.compile(p.say("Use a backup code")))
    expect(instant).to_contain_text(p.say("Instant. Two-factor authentication stays on."))
    waits = page.get_by_role("link", name=re.compile(p.say("Enter your password")))
    expect(waits).to_contain_text(p.say(second_way_says))
    assert_fits_the_screen(page)


def set_new_password(page: Page, p: Profile) -> None:
    page.get_by_label(p.say("New password")).fill(NEW_PASSWORD)
    page.get_by_role("button", name=p.say("Set new password")).click()


def test_an_e_mailed_code_and_a_backup_code_get_back_in_at_once_with_two_factor_kept(
    browser: Any, profile: Profile, server: Server, screenshots: Screenshots
):
    p, username = profile, new_username("sora")
    owner, codes = owner_with_the_app(browser, p, server, username)
    owner.context.close()  # the phone with the app is lost; the paper with the codes is not

    page = open_page(browser, p)
    prove_the_inbox(page, p, server, username)
    page.get_by_role("link", name=re.compile(p.say("Use a backup code"))).click()
    page.get_by_label(p.say("Backup code")).fill(codes[0])
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Choose a new password"))
    expect(
        page.get_by_text(p.say("Every device logged in to your account will be logged out."))
    ).to_be_visible()
    expect(page.get_by_text(p.say("waiting period"))).to_have_count(0)
    set_new_password(page, p)
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Your password was changed"))
    assert_fits_the_screen(page)
    screenshots.save(page, f"{p.name}-recovery-instant.png")

    # Two-factor stayed on: the new password leads to the second step, then the review.
    page.get_by_role("link", name=p.say("Log in")).click()
    fill_in_login(page, p, username, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(re.escape(f"{server.url}/login/two-factor")))
    page.get_by_role("link", name=p.say("Try another way")).click()
    page.get_by_role("link", name=p.say("Use a backup code")).click()
    page.get_by_label(p.say("Backup code")).fill(codes[1])
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect(page.locator("#codes-left")).to_have_text(p.say("{count} backup codes left", count=8))
    page.get_by_role("link", name=p.say("Continue")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Review your security"))
    assert_fits_the_screen(page)
    page.context.close()


def test_an_e_mailed_code_and_the_password_wait_72_hours_and_the_owner_can_cancel(
    browser: Any, profile: Profile, server: Server, screenshots: Screenshots
):
    p, username = profile, new_username("riku")
    owner, _ = owner_with_the_app(browser, p, server, username)

    stranger = open_page(browser, p)
    prove_the_inbox(stranger, p, server, username)
    stranger.get_by_role("link", name=re.compile(p.say("Enter your password"))).click()
    expect(
        stranger.get_by_text(p.say("Takes 72 hours, then turns off two-factor authentication."))
    ).to_be_visible()
    stranger.get_by_label(p.say("Password"), exact=True).fill(PASSWORD)
    stranger.get_by_role("button", name=p.say("Confirm")).first.click()
    expect(stranger.get_by_role("heading", level=1)).to_have_text(p.say("Choose a new password"))
    expect(stranger.get_by_text(p.say("waiting period"))).to_be_visible()
    asked = datetime.now(UTC)
    set_new_password(stranger, p)
    expect(stranger.get_by_role("heading", level=1)).to_have_text(
        p.say("Your recovery is on its way")
    )
    # Until when, in the person's own zone with the zone named: 72 hours from now.
    told = stranger.locator("main").inner_text()
    until = [
        p.say("Your new password takes effect on {when}.", when=t)
        for t in p.times(asked + WAIT, datetime.now(UTC) + WAIT)
    ]
    assert any(line in told for line in until), f"{told!r} has none of {until}"
    assert_fits_the_screen(stranger)
    screenshots.save(stranger, f"{p.name}-recovery-waiting.png")

    # The owner, still logged in, is told the same time and cancels it.
    owner.goto(f"{server.url}{SECURITY}")
    said = owner.get_by_role("alert").filter(has_text=p.say("Someone is recovering")).inner_text()
    coming = [
        p.say(
            "Someone is recovering your account. On {when} it will set a new password and"
            " turn off two-factor authentication.",
            when=t,
        )
        for t in p.times(asked + WAIT, datetime.now(UTC) + WAIT)
    ]
    assert any(line in said for line in coming), f"{said!r} has none of {coming}"
    assert_fits_the_screen(owner)
    owner.get_by_role("button", name=p.say("This wasn't me — cancel")).click()
    expect(owner.get_by_role("heading", level=1)).to_have_text(p.say("Recovery cancelled"))
    owner.goto(f"{server.url}{SECURITY}")
    expect(owner.get_by_text(p.say("Someone is recovering"))).to_have_count(0)
    owner.context.close()
    stranger.context.close()


@pytest.fixture(scope="module")
def server_without_wait(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Recoveries take effect at once (MAMORI_RECOVERY_HOLDING_HOURS=0), so one test can
    walk on to the security review after two-factor was turned off."""
    with running_server(
        tmp_path_factory.mktemp("e2e-recovery"), RECOVERY_HOLDING_HOURS="0"
    ) as started:
        yield started


def test_after_the_wait_the_review_offers_two_factor_again(
    browser: Any, server_without_wait: Server
):
    """Past the waiting period (none on this server): two-factor is off, and the review
    leads to setting it up again. One profile: the journey itself runs in both above."""
    p, server, username = PHONE_IN_TOKYO, server_without_wait, new_username("nagi")
    owner, _ = owner_with_the_app(browser, p, server, username)
    owner.context.close()

    page = open_page(browser, p)
    prove_the_inbox(page, p, server, username, "Turns off two-factor authentication.")
    page.get_by_role("link", name=re.compile(p.say("Enter your password"))).click()
    page.get_by_label(p.say("Password"), exact=True).fill(PASSWORD)
    page.get_by_role("button", name=p.say("Confirm")).first.click()
    set_new_password(page, p)
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Your password was changed"))
    page.get_by_role("link", name=p.say("Log in")).click()
    fill_in_login(page, p, username, NEW_PASSWORD)
    expect(page).to_have_url(f"{server.url}/accounts/center/security-review")
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Review your security"))
    expect(
        page.get_by_role("link", name=re.compile(p.say("Set up two-factor authentication again")))
    ).to_be_visible()
    assert_fits_the_screen(page)
    page.context.close()
