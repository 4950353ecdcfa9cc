"""Sign up, log in and out in Chromium, on a phone and on a PC, in English and Japanese."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import PC, PHONE, Server

PASSWORD = "correct horse battery staple"


@pytest.fixture(params=[PHONE, PC], ids=["phone", "pc"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Page]:
    viewport = request.param
    context = browser.new_context(
        viewport=viewport,
        locale="en-US",
        is_mobile=viewport is PHONE,
        has_touch=viewport is PHONE,
        device_scale_factor=2 if viewport is PHONE else 1,
    )
    context.set_default_timeout(15_000)
    yield context.new_page()
    context.close()


def viewport_name(page: Page) -> str:
    size = page.viewport_size
    return "phone" if size and size["width"] == PHONE["width"] else "pc"


def new_username() -> str:
    return f"hana_{secrets.token_hex(3)}"


def sign_up(page: Page, server: Server, username: str) -> None:
    page.goto(f"{server.url}/signup")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("E-mail (optional)").fill(f"{username}@example.com")
    page.get_by_role("button", name="Sign up").click()
    # The address given is sent a code at once; confirming it can wait.
    expect(page).to_have_url(f"{server.url}/signup/confirm")
    page.get_by_role("link", name="Later").click()
    expect(page).to_have_url(f"{server.url}/accounts/center")


def assert_fits_the_screen(page: Page) -> None:
    """Nothing sideways-scrolls and every button is a comfortable tap target."""
    overflow = page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px"
    for button in page.locator("main button:visible, main .button:visible").all():
        box = button.bounding_box()
        assert box is not None
        assert box["height"] >= 44, f"{button.inner_text()!r} is only {box['height']}px tall"


def test_sign_up_log_out_and_log_in_again(page: Page, server: Server, screenshots: Path):
    username = new_username()
    where = viewport_name(page)

    page.goto(f"{server.url}/signup")
    assert page.get_by_label("Username").get_attribute("autocomplete") == "username"
    assert page.get_by_label("Password", exact=True).get_attribute("autocomplete") == "new-password"
    assert_fits_the_screen(page)
    page.screenshot(path=screenshots / f"{where}-1-signup.png", full_page=True)

    sign_up(page, server, username)
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts Center")
    expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()
    assert_fits_the_screen(page)
    page.screenshot(path=screenshots / f"{where}-2-accounts-center.png", full_page=True)

    page.get_by_role("link", name="Password and security").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Password and security")
    expect(page.get_by_role("link", name="Change password")).to_be_visible()
    assert_fits_the_screen(page)
    page.screenshot(path=screenshots / f"{where}-3-password-and-security.png", full_page=True)

    page.get_by_role("link", name="Accounts Center").click()
    page.get_by_role("button", name="Log out").click()
    expect(page).to_have_url(f"{server.url}/login")
    page.goto(f"{server.url}/accounts/center")
    expect(page.get_by_role("heading", level=1)).to_have_text("Log in")

    login, password = (
        page.get_by_label("Username, e-mail or phone number"),
        page.get_by_label("Password", exact=True),
    )
    assert (
        login.get_attribute("autocomplete") == "username webauthn"
    )  # passkeys in the autofill too
    assert password.get_attribute("autocomplete") == "current-password"
    login.fill(username)
    password.fill("not my password at all")
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text("The login or password isn't right")
    expect(page.get_by_label("Username, e-mail or phone number")).to_have_value(username)
    assert_fits_the_screen(page)
    page.screenshot(path=screenshots / f"{where}-4-wrong-password.png", full_page=True)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page).to_have_url(f"{server.url}/accounts/center")
    expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()


def test_logging_in_with_the_e_mail_address(page: Page, server: Server):
    # Imported here: test_recovery builds on this module.
    from tests.e2e.test_recovery import confirm_email

    username = new_username()
    sign_up(page, server, username)
    confirm_email(page, server, username)  # only a confirmed address logs in
    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("Username, e-mail or phone number").fill(f"{username}@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Log in", exact=True).click()
    expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()


def test_the_language_switch_turns_the_page_japanese_and_back(
    page: Page, server: Server, screenshots: Path
):
    page.goto(f"{server.url}/login")
    page.get_by_role("button", name="日本語").click()
    expect(page.locator("html")).to_have_attribute("lang", "ja")
    expect(page.get_by_role("heading", level=1)).to_have_text("ログイン")
    expect(page.get_by_label("パスワード", exact=True)).to_have_attribute(
        "autocomplete", "current-password"
    )
    page.screenshot(path=screenshots / f"{viewport_name(page)}-5-login-ja.png", full_page=True)

    # The choice is remembered on the next page, then switched back.
    page.get_by_role("link", name="アカウントをお持ちでない場合は登録").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("アカウントを作成")
    page.get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("heading", level=1)).to_have_text("Create an account")


def test_a_japanese_browser_starts_in_japanese(browser: Any, server: Server, screenshots: Path):
    context = browser.new_context(viewport=PHONE, locale="ja-JP", is_mobile=True, has_touch=True)
    try:
        page = context.new_page()
        page.goto(f"{server.url}/signup")
        expect(page.locator("html")).to_have_attribute("lang", "ja")
        expect(page.get_by_role("heading", level=1)).to_have_text("アカウントを作成")
        username = new_username()
        page.get_by_label("ユーザーネーム").fill(username)
        page.get_by_label("パスワード", exact=True).fill("1qaz2wsx3edc4rfv")
        page.get_by_role("button", name="登録する").click()
        # Too common a password: refused, in Japanese, announced to screen readers.
        expect(page.get_by_role("alert")).to_contain_text("よく使われている")
        assert_fits_the_screen(page)
        page.screenshot(path=screenshots / "phone-6-signup-error-ja.png", full_page=True)
        page.get_by_label("パスワード", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="登録する").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("アカウントセンター")
        expect(page.get_by_role("link", name="パスワードとセキュリティ")).to_be_visible()
    finally:
        context.close()
