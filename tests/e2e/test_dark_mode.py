"""Dark mode follows the system (issue 12): with the phone set to dark, the pages are dark
with light text, and axe-core finds no colour-contrast fault on the pages a person meets
most (login, the two-factor step, Accounts Center, backup codes). One profile: the colours
do not depend on the language or the screen."""

from __future__ import annotations

from typing import Any

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.profiles import PHONE_IN_TOKYO, open_page
from tests.e2e.steps import (
    TWO_FACTOR,
    log_in_with_password,
    log_out,
    new_username,
    sign_up,
    turn_on_the_app,
)

AXE = Axe()

COLOURS = """() => {
  const painted = [document.body, document.documentElement]
    .map(e => getComputedStyle(e).backgroundColor)
    .find(c => c !== 'rgba(0, 0, 0, 0)' && c !== 'transparent') || 'rgb(255, 255, 255)';
  return {background: painted,
          heading: getComputedStyle(document.querySelector('main h1')).color,
          text: getComputedStyle(document.querySelector('main p')).color};
}"""


def luminance(css: str) -> float:
    """WCAG relative luminance of "rgb(r, g, b)": 0 is black, 1 is white."""
    red, green, blue = (int(part) for part in css[css.index("(") + 1 : -1].split(",")[:3])

    def linear(channel: int) -> float:
        c = channel / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * linear(red) + 0.7152 * linear(green) + 0.0722 * linear(blue)


def dark_and_readable(page: Page, name: str) -> list[str]:
    """What is wrong with `page` in dark mode: a light background, dark text, or what
    axe-core calls a serious or critical contrast fault."""
    found = []
    colours = page.evaluate(COLOURS)
    if luminance(colours["background"]) > 0.05:
        found.append(f"{name}: background {colours['background']} is not dark")
    for part in ("heading", "text"):
        if luminance(colours[part]) < 0.4:
            found.append(f"{name}: {part} {colours[part]} is not light")
    results = AXE.run(page, options={"runOnly": ["color-contrast"]})
    for violation in results.response["violations"]:
        if violation["impact"] in {"serious", "critical"}:
            targets = [node["target"] for node in violation["nodes"]][:5]
            found.append(f"{name}: axe {violation['id']} ({violation['impact']}) at {targets}")
    return found


def test_dark_mode_is_dark_with_light_text_and_enough_contrast(browser: Any, server: Server):
    p, username = PHONE_IN_TOKYO, new_username("yoru")
    page = open_page(browser, p, color_scheme="dark")
    problems: list[str] = []
    try:
        page.goto(f"{server.url}/login")
        problems += dark_and_readable(page, "login")
        sign_up(page, p, server, username)
        _, codes = turn_on_the_app(page, p, server)
        page.goto(f"{server.url}/accounts/center")
        problems += dark_and_readable(page, "accounts center")
        page.goto(f"{server.url}{TWO_FACTOR}/backup-codes")
        expect(page.locator("#backup-codes-list .code")).to_have_count(10)
        problems += dark_and_readable(page, "backup codes")
        log_out(page, p, server)
        log_in_with_password(page, p, server, username)
        expect(page).to_have_url(f"{server.url}/login/two-factor")
        page.get_by_label(p.say("Security code")).fill("000000")  # the error box too
        page.get_by_role("button", name=p.say("Confirm")).click()
        expect(page.get_by_role("alert")).to_be_visible()
        problems += dark_and_readable(page, "two-factor step")
        page.goto(f"{server.url}/login/two-factor?method=backup_code")
        page.get_by_label(p.say("Backup code")).fill(codes[0])
        page.get_by_role("button", name=p.say("Confirm")).click()
        expect(page.locator("#codes-left")).to_be_visible()
        problems += dark_and_readable(page, "backup code used")
    finally:
        page.context.close()
    assert problems == [], "\n".join(problems)
