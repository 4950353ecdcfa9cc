"""Japanese or English, chosen by the browser or by the switch; and `next` never leaves mamori."""

from __future__ import annotations

import html
import re
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import csrf_from, submit, web_log_in

JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
HTML_LANG = re.compile(r'<html lang="([a-z]+)">')


def page_language(page) -> str:
    match = HTML_LANG.search(page.text)
    assert match, "no <html lang>"
    return match.group(1)


def visible_text(page) -> str:
    body = page.text.split("<body>", 1)[1]
    return re.sub(r"<[^>]+>", " ", body.replace('lang="ja">日本語', ""))


@pytest.mark.parametrize("header", ["ja", "ja-JP,ja;q=0.9,en;q=0.8", "en;q=0.5, ja"])
def test_a_browser_preferring_japanese_gets_japanese_pages(client, header):
    page = client.get("/login", headers={"Accept-Language": header})

    assert page_language(page) == "ja"
    assert JAPANESE.search(visible_text(page))
    assert '<button name="lang" value="en" lang="en">English</button>' in page.text


@pytest.mark.parametrize(
    "header", [None, "en-US,en;q=0.9", "fr-FR", "ja;q=0.1, en", "ja;q=0", "ja;q=0, fr"]
)
def test_other_browsers_get_english(client, header):
    headers = {"Accept-Language": header} if header else {}

    page = client.get("/signup", headers=headers)

    assert page_language(page) == "en"
    assert "Create an account" in page.text


@pytest.mark.parametrize(
    "header", ["*", ";;;", "ja;q=abc", "x" * 5000, "ja;q=nan", "ja;q=1e400", "\u00ff"]
)
def test_a_nonsense_accept_language_still_shows_the_page(client, header):
    page = client.get("/login", headers={"Accept-Language": header.encode("latin-1")})

    assert page.status_code == 200
    assert page_language(page) in ("en", "ja")


def test_the_language_switch_sticks_over_the_browser_preference(client):
    english_browser = {"Accept-Language": "en-US"}
    page = client.get("/signup", headers=english_browser)

    response = client.post(
        "/language",
        data={"csrf_token": csrf_from(page), "lang": "ja", "next": "/signup"},
        follow_redirects=False,
    )

    assert response.status_code == 303
    assert response.headers["location"] == "/signup"
    assert page_language(client.get("/signup", headers=english_browser)) == "ja"
    assert page_language(client.get("/login", headers=english_browser)) == "ja"
    submit(client, "/login", "/language", lang="en", next="/login")
    assert page_language(client.get("/login", headers={"Accept-Language": "ja"})) == "en"


def test_an_unknown_language_changes_nothing(client):
    response = submit(client, "/login", "/language", lang="xx", next="/login")

    assert response.status_code == 303
    assert "mamori_lang" not in response.headers.get("set-cookie", "")
    assert page_language(client.get("/login")) == "en"


def test_error_messages_on_pages_are_in_japanese_too(client):
    sign_up(client)
    client.cookies.set("mamori_lang", "ja")

    page = web_log_in(client, "hana", "wrong password")

    assert page.status_code == 401
    alert = re.search(r'role="alert">([^<]+)<', page.text)
    assert alert
    assert JAPANESE.search(alert.group(1))


HOSTILE_NEXT = [
    "//evil.example",
    "https://evil.example",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "///evil.example",
    "/\t/evil.example",
    " //evil.example",
    "/%0d%0aSet-Cookie:%20x=y",
    "javascript:alert(1)",
    "\x00/evil",
]


def stays_on_mamori(location: str) -> None:
    assert location.startswith("/"), location
    assert not location.startswith("//"), location
    assert "\\" not in location
    assert not re.search(r"[\x00-\x1f]", location)
    assert urlsplit(urljoin("https://mamori.example/login", location)).netloc == "mamori.example"


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_logging_in_never_redirects_to_another_site(client, target):
    sign_up(client)

    response = web_log_in(client, "hana", PASSWORD, next=target)

    assert response.status_code == 303
    stays_on_mamori(response.headers["location"])


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_login_page_when_logged_in_never_redirects_to_another_site(client, target):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)

    response = client.get("/login", params={"next": target}, follow_redirects=False)

    assert response.status_code == 303
    stays_on_mamori(response.headers["location"])


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_login_page_never_carries_a_foreign_next_in_its_form(client, target):
    page = client.get("/login", params={"next": target})

    carried = re.search(r'name="next" value="([^"]*)"', page.text)
    assert carried
    stays_on_mamori(carried.group(1))


@pytest.mark.parametrize("target", HOSTILE_NEXT)
def test_the_language_switch_and_confirm_its_you_never_redirect_away(client, target):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)

    switched = submit(client, "/login", "/language", lang="ja", next=target)
    confirmed = submit(client, "/reauthenticate", "/reauthenticate", password=PASSWORD, next=target)

    stays_on_mamori(switched.headers["location"])
    stays_on_mamori(confirmed.headers["location"])


def test_a_local_next_is_kept(client):
    sign_up(client)
    target = "/accounts/center/password-and-security/sessions?from=mail"

    response = web_log_in(client, "hana", PASSWORD, next=target)

    assert response.headers["location"] == target


def switch_next(page) -> str:
    form = re.search(r'<form class="lang".*?</form>', page.text, re.S)
    assert form, "no language switch"
    carried = re.search(r'name="next" value="([^"]*)"', form.group(0))
    assert carried
    return html.unescape(carried.group(1))


def test_the_language_switch_keeps_the_query_string(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    target = "/accounts/center/password-and-security/sessions?from=mail"
    page = client.get(target)

    assert switch_next(page) == target
    switched = client.post(
        "/language",
        data={"csrf_token": csrf_from(page), "lang": "ja", "next": switch_next(page)},
        follow_redirects=False,
    )

    assert switched.headers["location"] == target


def test_a_page_shown_after_a_form_switches_language_to_a_page_not_an_error(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    page = client.get("/login")

    # A form's own address (POST only) brings the person to the page that shows it.
    switched = client.post(
        "/language",
        data={
            "csrf_token": csrf_from(page),
            "lang": "ja",
            "next": "/accounts/center/password-and-security/two-factor/off",
        },
    )

    assert switched.status_code == 200
    assert switched.url.path == "/accounts/center/password-and-security/two-factor"
    assert page_language(switched) == "ja"


def test_a_failed_login_switches_language_to_the_login_page_with_its_next(client):
    target = "/accounts/center?tab=security"
    page = client.get("/login", params={"next": target})

    failed = client.post(
        "/login",
        data={
            "csrf_token": csrf_from(page),
            "login": "nobody",
            "password": "x" * 12,
            "next": target,
        },
    )
    switched = client.post(
        "/language",
        data={"csrf_token": csrf_from(failed), "lang": "ja", "next": switch_next(failed)},
        follow_redirects=False,
    )

    assert switched.headers["location"].startswith("/login?")
    after = client.get(switched.headers["location"])
    assert page_language(after) == "ja"
    carried = re.search(r'name="next" value="([^"]*)"', after.text.split("</header>", 1)[1])
    assert carried
    assert html.unescape(carried.group(1)) == target
