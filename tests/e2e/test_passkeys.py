"""Passkeys in Chromium, with Chromium's own WebAuthn and a virtual authenticator
(DevTools protocol: a phone's screen lock, with resident keys and user verification)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import httpx
import pyotp
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from tests.conftest import empty_postgres_schema
from tests.e2e.conftest import PC, PHONE, Screenshots, Server, running_server
from tests.e2e.profiles import PC_IN_LONDON, assert_fits_the_screen
from tests.e2e.steps import PASSWORD
from tests.e2e.steps import sign_up as sign_up_as

PASSKEYS = "/accounts/center/password-and-security/passkeys"


def sign_up(page: Page, server: Server, username: str) -> None:
    """Sign up on pages in English (these browsers ask for en-US)."""
    sign_up_as(page, PC_IN_LONDON, server, username)


def new_page(
    browser: Any, viewport: dict[str, int], locale: str = "en-US"
) -> tuple[BrowserContext, Page]:
    context = browser.new_context(
        viewport=viewport, locale=locale, is_mobile=viewport is PHONE, has_touch=viewport is PHONE
    )
    context.set_default_timeout(15_000)
    return context, context.new_page()


def with_authenticator(page: Page) -> str:
    """A platform authenticator that verifies the person, as a phone's screen lock does."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable", {"enableUI": False})
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    page.__dict__["_mamori_cdp"] = (cdp, added["authenticatorId"])
    return str(added["authenticatorId"])


def let_the_autofill_fail(page: Page) -> None:
    """The page's first request for passkey options (the autofill's) fails."""
    asked: list[int] = []

    def first_fails(route: Any) -> None:
        asked.append(1)
        if len(asked) == 1:
            route.abort()
        else:
            route.continue_()

    page.route("**/login/passkey/options", first_fails)
    page.__dict__["_mamori_autofill_asked"] = asked


def press_log_in_with_a_passkey(page: Page) -> None:
    """Once the autofill's request has failed: before, the button's could be the first."""
    asked = page.__dict__["_mamori_autofill_asked"]
    for _ in range(100):
        if asked:
            break
        page.wait_for_timeout(50)
    assert asked, "the login page never asked for passkey options for its autofill"
    page.get_by_role("button", name="Log in with a passkey").click()


def credentials_on(page: Page) -> list[dict[str, Any]]:
    cdp, authenticator = page.__dict__["_mamori_cdp"]
    answer = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})
    return list(answer["credentials"])


@pytest.fixture(params=[PHONE, PC], ids=["phone", "pc"])
def page(request: pytest.FixtureRequest, browser: Any) -> Iterator[Page]:
    context, opened = new_page(browser, request.param)
    yield opened
    context.close()


def add_a_passkey(page: Page, server: Server) -> None:
    page.goto(f"{server.url}/accounts/center/password-and-security")
    page.get_by_role("link", name="Passkeys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passkeys")
    expect(page.get_by_text("You haven't added a passkey yet.")).to_be_visible()
    page.get_by_role("link", name="Add a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a passkey")
    page.get_by_role("button", name="Create a passkey").click()
    expect(page.get_by_text("Passkey added. You can now log in with it.")).to_be_visible()


def test_add_a_passkey_log_out_and_log_in_with_it_alone(
    page: Page, server: Server, browser: Any, screenshots: Screenshots
):
    username = f"mei_{secrets.token_hex(3)}"
    sign_up(page, server, username)
    with_authenticator(page)

    add_a_passkey(page, server)

    [stored] = credentials_on(page)
    assert stored["isResidentCredential"] is True
    rows = page.locator("#passkeys li")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Chrome on")
    expect(rows.first).to_contain_text("Not used yet")
    assert_fits_the_screen(page)
    where = (
        "phone" if page.viewport_size and page.viewport_size["width"] == PHONE["width"] else "pc"
    )
    screenshots.save(page, f"{where}-passkeys.png")

    # Logged out, the login page's username field offers the passkey (conditional
    # mediation); Chromium's virtual authenticator picks it at once, as a person would.
    page.goto(f"{server.url}/accounts/center")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts Center")
    expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()
    page.goto(f"{server.url}{PASSKEYS}")
    expect(page.locator("#passkeys li").first).to_contain_text("Last used")

    # Another browser with the same (synced) passkey: "Log in with a passkey", no password.
    context, other = new_page(browser, PC)
    try:
        holder = with_authenticator(other)
        cdp, _ = other.__dict__["_mamori_cdp"]
        cdp.send("WebAuthn.addCredential", {"authenticatorId": holder, "credential": stored})
        # The autofill would pick the passkey at once (the virtual authenticator does not
        # wait for a person): its request for options fails here, so the button is used.
        let_the_autofill_fail(other)
        other.goto(f"{server.url}/login")
        field = other.get_by_label("Username, e-mail or phone number")
        assert field.get_attribute("autocomplete") == "username webauthn"
        press_log_in_with_a_passkey(other)
        expect(other.get_by_role("heading", level=1)).to_have_text("Accounts Center")
        expect(other.get_by_text(f"Logged in as {username}")).to_be_visible()
    finally:
        context.close()

    # A browser whose authenticator holds no passkey for mamori is refused, and told why.
    context, stranger = new_page(browser, PC)
    try:
        with_authenticator(stranger)
        stranger.goto(f"{server.url}/login")
        stranger.get_by_role("button", name="Log in with a passkey").click()
        expect(stranger.get_by_role("alert")).to_contain_text("No passkey was used")
        expect(stranger.get_by_role("heading", level=1)).to_have_text("Log in")
    finally:
        context.close()


def turn_on_the_app(server: Server, username: str) -> None:
    """Two-factor on with an authenticator app, over the API (its pages have tests of
    their own)."""
    with httpx.Client(base_url=server.url.replace("localhost", "127.0.0.1")) as api:
        answer = api.post("/api/v1/login", json={"login": username, "password": PASSWORD})
        token = answer.json()["token"]
        auth = {"Authorization": f"Bearer {token}"}
        secret = api.post("/api/v1/me/two-factor/totp", headers=auth).json()["secret"]
        confirmed = api.post(
            "/api/v1/me/two-factor/totp/confirm",
            headers=auth,
            json={"code": pyotp.TOTP(secret).now()},
        )
        assert confirmed.status_code == 200, confirmed.text


def presence(page: Page, present: bool) -> None:
    """Whether the virtual authenticator answers by itself (off: the autofill's request
    waits, as it does until a person picks a passkey)."""
    cdp, authenticator = page.__dict__["_mamori_cdp"]
    cdp.send(
        "WebAuthn.setAutomaticPresenceSimulation",
        {"authenticatorId": authenticator, "enabled": present},
    )


def test_two_factor_with_a_passkey_confirm_its_you_and_remove_it(
    browser: Any, server: Server, screenshots: Screenshots
):
    context, page = new_page(browser, PHONE)
    try:
        username = f"sora_{secrets.token_hex(3)}"
        sign_up(page, server, username)
        with_authenticator(page)
        add_a_passkey(page, server)
        turn_on_the_app(server, username)

        # Password first: the second step offers the passkey before the app.
        page.goto(f"{server.url}/accounts/center")
        presence(page, False)
        page.get_by_role("button", name="Log out").click()
        page.get_by_label("Username, e-mail or phone number").fill(username)
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Two-factor authentication")
        expect(page.get_by_role("button", name="Use your passkey")).to_be_visible()
        assert_fits_the_screen(page)
        screenshots.save(page, "phone-passkey-second-step.png")
        presence(page, True)
        page.get_by_role("button", name="Use your passkey").click()
        expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()

        # "Confirm it's you" with the passkey, then remove it (asked first).
        page.goto(f"{server.url}/reauthenticate?next={PASSKEYS}")
        expect(page.get_by_role("heading", level=1)).to_have_text("Confirm it's you")
        page.get_by_role("button", name="Use your passkey").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Passkeys")
        page.locator("#passkeys li a").first.click()
        page.get_by_role("link", name="Remove").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Remove this passkey?")
        assert_fits_the_screen(page)
        page.get_by_role("button", name="Remove").click()
        expect(page.get_by_text("Passkey removed. It can no longer log in.")).to_be_visible()
        expect(page.get_by_text("You haven't added a passkey yet.")).to_be_visible()
    finally:
        context.close()


def test_the_passkey_pages_in_japanese(browser: Any, server: Server, screenshots: Screenshots):
    context, page = new_page(browser, PHONE, locale="ja-JP")
    try:
        page.goto(f"{server.url}/login")
        expect(page.get_by_role("button", name="パスキーでログイン")).to_be_visible()
    finally:
        context.close()
    context, page = new_page(browser, PHONE)
    try:
        sign_up(page, server, f"aoi_{secrets.token_hex(3)}")
        page.get_by_role("button", name="日本語").click()
        with_authenticator(page)
        page.goto(f"{server.url}{PASSKEYS}")
        expect(page.get_by_role("heading", level=1)).to_have_text("パスキー")
        page.get_by_role("link", name="パスキーを追加").click()
        page.get_by_role("button", name="パスキーを作成").click()
        expect(page.get_by_text("パスキーを追加しました。")).to_be_visible()
        expect(page.locator("#passkeys li").first).to_contain_text("未使用")
        assert_fits_the_screen(page)
        screenshots.save(page, "phone-passkeys-ja.png")
    finally:
        context.close()


def test_add_and_log_in_with_a_passkey_on_postgresql(
    browser: Any, tmp_path_factory: pytest.TempPathFactory
):
    with (
        empty_postgres_schema("e2e_passkeys") as database_url,
        running_server(
            tmp_path_factory.mktemp("passkeys-pg"), host_name="localhost", DATABASE_URL=database_url
        ) as on_postgres,
    ):
        context, page = new_page(browser, PC)
        try:
            username = f"riko_{secrets.token_hex(3)}"
            sign_up(page, on_postgres, username)
            with_authenticator(page)
            add_a_passkey(page, on_postgres)
            page.goto(f"{on_postgres.url}/accounts/center")
            let_the_autofill_fail(page)  # so that the button logs in
            page.get_by_role("button", name="Log out").click()
            expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
            press_log_in_with_a_passkey(page)
            expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()
        finally:
            context.close()


OLDER_BROWSER = """
delete PublicKeyCredential.parseCreationOptionsFromJSON;
delete PublicKeyCredential.parseRequestOptionsFromJSON;
delete PublicKeyCredential.prototype.toJSON;
"""


def test_a_browser_without_the_json_helpers_adds_and_logs_in_too(browser: Any, server: Server):
    """Browsers older than the WebAuthn JSON helpers: passkeys.js converts by hand."""
    context, page = new_page(browser, PC)
    context.add_init_script(OLDER_BROWSER)
    try:
        username = f"nao_{secrets.token_hex(3)}"
        sign_up(page, server, username)
        assert page.evaluate("typeof PublicKeyCredential.parseCreationOptionsFromJSON") == (
            "undefined"
        )
        with_authenticator(page)
        add_a_passkey(page, server)
        page.goto(f"{server.url}/accounts/center")
        let_the_autofill_fail(page)  # so that the button logs in
        page.get_by_role("button", name="Log out").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Log in")
        press_log_in_with_a_passkey(page)
        expect(page.get_by_text(f"Logged in as {username}")).to_be_visible()
    finally:
        context.close()
