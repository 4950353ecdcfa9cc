"""Steps the journeys share, taken as a person takes them, in the profile's language."""

from __future__ import annotations

import re
import secrets
import time

from playwright.sync_api import Page, expect

from mamori.totp.service import STEP_SECONDS, code_at
from tests.e2e.conftest import Server
from tests.e2e.profiles import Profile, assert_fits_the_screen

PASSWORD = "correct horse battery staple"
SECURITY = "/accounts/center/password-and-security"
TWO_FACTOR = f"{SECURITY}/two-factor"


def new_username(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(3)}"


def this_step() -> int:
    return int(time.time()) // STEP_SECONDS  # the server runs on this machine's clock


def next_step_code(key: str) -> str:
    """The code of the step after this one, without waiting for it: a step already spent
    (turning the app on) cannot log in again, and the server accepts a code one step
    ahead (a phone's clock may run fast). Once the step has turned it is still good."""
    return code_at(key, this_step() + 1)


def code_sent_to(page: Page, server: Server, to: str) -> str:
    """The 6-digit code in the newest message to `to` in the development outbox."""
    outbox = page.request.get(f"{server.url}/dev/outbox", headers={"Accept": "application/json"})
    for message in outbox.json():
        found = re.search(r"\b(\d{6})\b", message["body"])
        if message["to"] == to and found:
            return found.group(1)
    raise AssertionError(f"no code was sent to {to}")


def sign_up(page: Page, p: Profile, server: Server, username: str) -> None:
    """Sign up with an e-mail address and leave its confirmation for later."""
    page.goto(f"{server.url}/signup")
    page.get_by_label(p.say("Username")).fill(username)
    page.get_by_label(p.say("Password"), exact=True).fill(PASSWORD)
    page.get_by_label(p.say("E-mail (optional)")).fill(f"{username}@example.com")
    page.get_by_role("button", name=p.say("Sign up")).click()
    expect(page).to_have_url(f"{server.url}/signup/confirm")
    page.get_by_role("link", name=p.say("Later")).click()
    expect(page).to_have_url(f"{server.url}/accounts/center")


def confirm_email(page: Page, p: Profile, server: Server, username: str) -> None:
    """Confirm the address given at sign-up with the code it was sent then."""
    page.goto(f"{server.url}{SECURITY}")
    page.get_by_role("link", name=re.compile("^" + p.say("Contact details"))).click()
    page.get_by_label(p.say("Security code")).fill(
        code_sent_to(page, server, f"{username}@example.com")
    )
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect(page.get_by_text(p.say("Your e-mail address is confirmed."))).to_be_visible()


def open_the_app_set_up(page: Page, p: Profile, server: Server) -> str:
    """From the two-factor page to the authenticator set-up; the key it shows."""
    page.goto(f"{server.url}{TWO_FACTOR}")
    page.get_by_role("link", name=re.compile(p.say("Authentication app"))).first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Set up an authentication app"))
    return page.locator("#totp-key").inner_text().replace(" ", "")


def turn_on_the_app(page: Page, p: Profile, server: Server) -> tuple[str, list[str]]:
    """Two-factor on with an authenticator app: its key and the backup codes shown."""
    key = open_the_app_set_up(page, p, server)
    page.get_by_label(p.say("Enter the 6-digit code from the app")).fill(code_at(key, this_step()))
    page.get_by_role("button", name=p.say("Turn on")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        p.say("Two-factor authentication is on")
    )
    return key, backup_codes_shown(page)


def backup_codes_shown(page: Page) -> list[str]:
    """The ten codes on the page, read once all ten have arrived: the heading can be in
    view while the rest of the page is still coming in."""
    codes = page.locator("#backup-codes-list .code")
    expect(codes).to_have_count(10)
    return codes.all_inner_texts()


def log_out(page: Page, p: Profile, server: Server) -> None:
    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name=p.say("Log out")).click()
    expect(page).to_have_url(f"{server.url}/login")


def log_in_with_password(
    page: Page, p: Profile, server: Server, login: str, password: str = PASSWORD
) -> None:
    page.goto(f"{server.url}/login")
    fill_in_login(page, p, login, password)


def fill_in_login(page: Page, p: Profile, login: str, password: str = PASSWORD) -> None:
    """On the login page the person is on (wherever it leads next): fill it in, log in."""
    page.get_by_label(p.say("Username, e-mail or phone number")).fill(login)
    page.get_by_label(p.say("Password"), exact=True).fill(password)
    page.get_by_role("button", name=p.say("Log in"), exact=True).click()


def use_backup_code(page: Page, p: Profile, code: str) -> None:
    """On the two-factor step: "Try another way" → "Use a backup code" → the code."""
    page.get_by_role("link", name=p.say("Try another way")).click()
    page.get_by_role("link", name=p.say("Use a backup code")).click()
    page.get_by_label(p.say("Backup code")).fill(code)
    page.get_by_role("button", name=p.say("Confirm")).click()


def switch_language(page: Page, p: Profile) -> None:
    """Press the language switch at the top of the page (to the other language)."""
    page.get_by_role("button", name=p.other_language).click()
    expect(page.locator("html")).to_have_attribute("lang", "en" if p.lang == "ja" else "ja")


def expect_logged_in(page: Page, p: Profile, server: Server, username: str) -> None:
    expect(page).to_have_url(f"{server.url}/accounts/center")
    expect(page.get_by_text(p.say("Logged in as {username}", username=username))).to_be_visible()
    assert_fits_the_screen(page)
