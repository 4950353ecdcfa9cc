"""The two-factor step in Chromium (issue 12), on a phone in Japanese in Tokyo and on a PC
in English in London: "Get a code by text message" sends at once and counts down to when a
new code may be sent; Back after logging in goes on, never "login expired"."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.conftest import Server
from tests.e2e.profiles import Profile, assert_fits_the_screen
from tests.e2e.steps import (
    TWO_FACTOR,
    expect_logged_in,
    log_in_with_password,
    log_out,
    new_username,
    sign_up,
)

NUMBER = "+819012345678"
COUNTDOWN = {
    "en": r"You can get a new code in \d+ seconds\.",
    "ja": r"新しいコードは\d+秒後に送信できます。",
}
EXPIRED = {"en": "expired", "ja": "有効期限"}


def texts(page: Page, server: Server) -> list[str]:
    outbox = page.request.get(f"{server.url}/dev/outbox", headers={"Accept": "application/json"})
    return [m["body"] for m in outbox.json() if m["to"] == NUMBER]


def latest_code(page: Page, server: Server) -> str:
    found = re.search(r"\b(\d{6})\b", texts(page, server)[0])
    assert found
    return found.group(1)


def test_text_message_is_sent_when_chosen_and_back_goes_on(
    page: Page, profile: Profile, server: Server
):
    p, username = profile, new_username("sora")
    sign_up(page, p, server, username)
    page.goto(f"{server.url}{TWO_FACTOR}/text-message")
    page.locator("#phone").fill("090-1234-5678")
    page.locator("main form button.primary").click()
    page.locator("#code").fill(latest_code(page, server))
    page.locator("main form button.primary").click()
    log_out(page, p, server)
    log_in_with_password(page, p, server, username)
    sent_before = len(texts(page, server))

    page.get_by_role("link", name=p.say("Try another way")).click()
    page.get_by_role("button", name=p.say("Get a code by text message")).click()

    expect(page.get_by_role("status").first).to_contain_text(p.say("We sent a code to"))
    assert len(texts(page, server)) == sent_before + 1
    wait = page.locator("#resend-wait")
    expect(wait).to_contain_text(re.compile(COUNTDOWN[p.lang]))
    first = wait.inner_text()
    expect(wait).not_to_have_text(first)  # it counts down
    expect(page.get_by_role("button", name=p.say("Send a new code"))).to_be_disabled()
    assert_fits_the_screen(page)

    page.get_by_label(p.say("Security code")).fill(latest_code(page, server))
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect_logged_in(page, p, server, username)

    # Back, to where the code was typed: the person is logged in, so it goes on.
    page.go_back()
    expect_logged_in(page, p, server, username)
    expect(page.get_by_text(EXPIRED[p.lang])).to_have_count(0)
