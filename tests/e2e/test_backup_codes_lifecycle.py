"""Backup codes down to the last one in Chromium (issues 4, 12), on a phone in Japanese in
Tokyo and on a PC in English in London: turn on two-factor, download the .txt, log in with
codes in turn, told each time how many are left, warned at 2, and none left at the end;
then new codes from the warning. Codes 2 to 7, which a person would spend on other days,
go through the JSON API: the browser's logins are the ones whose pages say something new."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from tests.e2e.conftest import Screenshots, Server
from tests.e2e.profiles import Profile, assert_fits_the_screen
from tests.e2e.steps import (
    PASSWORD,
    SECURITY,
    TWO_FACTOR,
    backup_codes_shown,
    expect_logged_in,
    log_in_with_password,
    log_out,
    new_username,
    next_step_code,
    sign_up,
    turn_on_the_app,
    use_backup_code,
)


def codes_left(p: Profile, count: int) -> str:
    """What the page after a backup-code login says (the last one leads elsewhere)."""
    return (
        p.say("1 backup code left")
        if count == 1
        else p.say("{count} backup codes left", count=count)
    )


def running_low(p: Profile, count: int) -> str:
    if count == 0:
        return p.say("You have used all your backup codes.")
    if count == 1:
        return p.say("Only 1 backup code is left. Get new codes before it runs out.")
    return p.say(
        "Only {count} backup codes are left. Get new codes before they run out.", count=count
    )


def log_in_with_a_backup_code(
    page: Page, p: Profile, server: Server, username: str, code: str
) -> None:
    """In again from a browser without cookies, straight to the backup-code step."""
    page.context.clear_cookies()
    log_in_with_password(page, p, server, username)
    expect(page).to_have_url(f"{server.url}/login/two-factor")
    page.goto(f"{server.url}/login/two-factor?method=backup_code")
    page.get_by_label(p.say("Backup code")).fill(code)
    page.get_by_role("button", name=p.say("Confirm")).click()


def spend_over_the_api(server: Server, username: str, codes: list[str]) -> None:
    """Each code used to log in through the JSON API, as another app or day would."""
    with httpx.Client(base_url=server.url, timeout=30) as api:
        for code in codes:
            step = api.post("/api/v1/login", json={"login": username, "password": PASSWORD})
            assert step.json()["status"] == "two_factor_required", step.text
            used = api.post(
                f"/api/v1/login/{step.json()['challenge']}/verify",
                json={"method": "backup_code", "code": code},
            )
            assert used.status_code == 200, used.text


def expect_warned(page: Page, p: Profile, left: int) -> None:
    warning = page.locator("#backup-codes-low")
    expect(warning).to_contain_text(running_low(p, left))
    expect(warning.get_by_role("link", name=p.say("Get new codes"))).to_be_visible()


def test_backup_codes_down_to_the_last_one(
    page: Page, profile: Profile, server: Server, screenshots: Screenshots
):
    p, username = profile, new_username("kaito")
    sign_up(page, p, server, username)
    key, shown = turn_on_the_app(page, p, server)
    assert len(shown) == 10 and all(re.fullmatch(r"\d{4} \d{4}", c) for c in shown)
    assert_fits_the_screen(page)
    screenshots.save(page, f"{p.name}-backup-1-turned-on.png")

    # The .txt holds exactly the codes shown, in the person's language.
    with page.expect_download() as download_info:
        page.get_by_role("link", name=p.say("Download (.txt)")).click()
    sheet = Path(download_info.value.path()).read_text()
    in_file = re.findall(r"\b\d{4} \d{4}\b", sheet)
    assert in_file == shown
    assert p.say("Made on") in sheet

    # The first, typed from the file with a hyphen as people do, the way a person finds it.
    log_out(page, p, server)
    log_in_with_password(page, p, server, username)
    first_used = datetime.now(UTC)
    use_backup_code(page, p, in_file[0].replace(" ", "-"))
    expect(page.locator("#codes-left")).to_have_text(codes_left(p, 9))
    assert_fits_the_screen(page)
    page.get_by_role("link", name=p.say("Continue")).click()
    expect_logged_in(page, p, server, username)
    expect(page.locator("#backup-codes-low")).to_have_count(0)

    # The codes page: the used one struck through, with when, in the person's zone.
    page.goto(f"{server.url}{TWO_FACTOR}/backup-codes")
    expect(page.locator("#backup-codes-remaining")).to_have_text(
        p.say("{remaining} of {total} codes left", remaining=9, total=10)
    )
    expect(page.locator("#backup-codes-list del .code")).to_have_text([in_file[0]])
    used = page.locator("#backup-codes-list .used .used-on").inner_text()
    when_used = [p.say("Used {date}", date=t) for t in p.times(first_used, datetime.now(UTC))]
    assert used in when_used, f"{used!r} is none of {when_used}"
    assert_fits_the_screen(page)
    screenshots.save(page, f"{p.name}-backup-2-one-used.png")

    # Down to 2: told after the login, and warned with "Get new codes" where they look.
    spend_over_the_api(server, username, in_file[1:7])
    log_in_with_a_backup_code(page, p, server, username, in_file[7])
    expect(page.locator("#codes-left")).to_have_text(codes_left(p, 2))
    expect(page.locator("#codes-left")).to_have_class(re.compile(r"\bwarning\b"))
    page.get_by_role("link", name=p.say("Continue")).click()
    expect_warned(page, p, 2)
    for where in (SECURITY, TWO_FACTOR):
        page.goto(f"{server.url}{where}")
        expect_warned(page, p, 2)
        assert_fits_the_screen(page)

    log_in_with_a_backup_code(page, p, server, username, in_file[8])
    expect(page.locator("#codes-left")).to_have_text(codes_left(p, 1))

    # The last code works and leads to the codes page: none left, and what to do.
    log_in_with_a_backup_code(page, p, server, username, in_file[9])
    expect(page).to_have_url(re.compile(rf"{TWO_FACTOR}/backup-codes\?"))
    expect(page.locator("#backup-codes-remaining")).to_have_text(
        p.say("{remaining} of {total} codes left", remaining=0, total=10)
    )
    expect_warned(page, p, 0)
    assert_fits_the_screen(page)
    page.goto(f"{server.url}/accounts/center")
    expect_logged_in(page, p, server, username)
    expect_warned(page, p, 0)
    screenshots.save(page, f"{p.name}-backup-3-none-left.png")

    # None left to offer: "Try another way" has no backup code now; the app still works.
    log_out(page, p, server)
    log_in_with_password(page, p, server, username)
    page.get_by_role("link", name=p.say("Try another way")).click()
    expect(page.get_by_role("link", name=p.say("Use a backup code"))).to_have_count(0)
    page.get_by_role("link", name=p.say("Use your authenticator app")).click()
    page.get_by_label(p.say("Security code")).fill(next_step_code(key))
    page.get_by_role("button", name=p.say("Confirm")).click()
    expect_logged_in(page, p, server, username)
    page.locator("#backup-codes-low").get_by_role("link", name=p.say("Get new codes")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(p.say("Get new codes?"))
    page.get_by_role("button", name=p.say("Get new codes")).click()
    fresh = backup_codes_shown(page)
    assert not set(fresh) & set(shown)
    page.goto(f"{server.url}/accounts/center")
    expect(page.locator("#backup-codes-low")).to_have_count(0)
