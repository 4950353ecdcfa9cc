"""The security checkup and the alerts list in Chromium, in English and Japanese: fix
links that lead somewhere, "Mark as reviewed", and "This wasn't me" from an alert."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PHONE, Screenshots, Server
from tests.e2e.profiles import assert_fits_the_screen

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase"
SECURITY = "/accounts/center/password-and-security"
TEXT = {
    "en": {
        "signup": "Sign up",
        "later": "Later",
        "checkup": "Security checkup",
        "at_risk": "Your account is at risk",
        "two_factor_off": "Two-factor authentication is off",
        "fix": "Turn on two-factor authentication",
        "mark": "Mark as reviewed",
        "marked": "Marked as reviewed. Thank you.",
        "alerts": "Security alerts",
        "changed": "Your password was changed",
        "wasnt_me": "This wasn't me",
        "secure": "Secure my account",
        "secured": "Your account is secured",
    },
    "ja": {
        "signup": "登録する",
        "later": "あとで",
        "checkup": "セキュリティチェック",
        "at_risk": "アカウントが危険な状態です",
        "two_factor_off": "二段階認証はオフです",
        "fix": "二段階認証をオンにする",
        "mark": "確認済みにする",
        "marked": "確認済みにしました。ありがとうございます。",
        "alerts": "セキュリティアラート",
        "changed": "パスワードが変更されました",
        "wasnt_me": "心当たりがない",
        "secure": "アカウントを保護する",
        "secured": "アカウントを保護しました",
    },
}


@pytest.fixture(params=["en", "ja"])
def language(request: pytest.FixtureRequest) -> str:
    chosen: str = request.param
    return chosen


@pytest.fixture
def page(language: str, browser: Any) -> Iterator[Page]:
    """A phone whose browser prefers `language` (Accept-Language)."""
    context = browser.new_context(
        viewport=PHONE,
        locale="ja-JP" if language == "ja" else "en-US",
        is_mobile=True,
        has_touch=True,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def sign_up(page: Page, server: Server, text: dict[str, str]) -> str:
    username = f"hana_{secrets.token_hex(3)}"
    page.goto(f"{server.url}/signup")
    page.locator("#username").fill(username)
    page.locator("#password").fill(PASSWORD)
    page.locator("#email").fill(f"{username}@example.com")
    page.get_by_role("button", name=text["signup"]).click()
    expect(page).to_have_url(f"{server.url}/signup/confirm")
    page.get_by_role("link", name=text["later"]).click()
    expect(page).to_have_url(f"{server.url}/accounts/center")
    return username


def test_the_checkup_grades_links_each_fix_and_marks_a_review(
    page: Page, server: Server, screenshots: Screenshots, language: str
):
    text = TEXT[language]
    sign_up(page, server, text)

    page.goto(f"{server.url}{SECURITY}")
    page.get_by_role("link", name=text["checkup"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(text["checkup"])
    expect(page.locator("#grade")).to_contain_text(text["at_risk"])
    risk = page.locator('.finding[data-code="two_factor_off"]')
    expect(risk).to_contain_text(text["two_factor_off"])
    assert_fits_the_screen(page)
    screenshots.save(page, f"checkup-{language}.png")

    page.get_by_role("button", name=text["mark"]).click()
    expect(page.get_by_role("status")).to_have_text(text["marked"])
    expect(page.locator('.finding[data-code="reviewed"]')).to_have_attribute("data-status", "ok")

    page.get_by_role("link", name=text["fix"]).click()
    expect(page).to_have_url(f"{server.url}{SECURITY}/two-factor")


def test_an_alert_in_the_list_leads_to_this_wasnt_me(
    page: Page, server: Server, screenshots: Screenshots, language: str
):
    text = TEXT[language]
    sign_up(page, server, text)
    page.goto(f"{server.url}{SECURITY}/password")
    page.locator("#current_password").fill(PASSWORD)
    page.locator("#new_password").fill(NEW_PASSWORD)
    page.locator("form[action$='/password'] button[type=submit]").click()

    page.goto(f"{server.url}{SECURITY}")
    page.get_by_role("link", name=text["alerts"]).click()
    item = page.locator('.alert-item[data-event="password.changed"]')
    expect(item).to_contain_text(text["changed"])
    assert_fits_the_screen(page)
    screenshots.save(page, f"alerts-{language}.png")

    item.get_by_role("link", name=text["wasnt_me"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(text["wasnt_me"])
    page.get_by_role("button", name=text["secure"]).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(text["secured"])

    page.goto(f"{server.url}/accounts/center")
    expect(page).to_have_url(f"{server.url}/login?next=/accounts/center")
