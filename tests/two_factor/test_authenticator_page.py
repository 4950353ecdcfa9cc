"""Setting up an authenticator app on its page (issue 12): an otpauth:// link for the
phone that shows the page, and one QR code and key that stay through a mistyped code,
a reload and the language switch, until confirmed or an hour old."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pyotp

from tests.conftest import PASSWORD
from tests.core.helpers import csrf_from
from tests.two_factor.test_pages import TWO_FACTOR, web_sign_up

SETUP = f"{TWO_FACTOR}/authenticator"


def key_on(page) -> str:
    found = re.search(r'<code id="totp-key" class="key">([A-Z2-7 ]+)</code>', page.text)
    assert found, page.text
    return found.group(1).replace(" ", "")


def qr_on(page) -> str:
    found = re.search(r"<svg.*?</svg>", page.text, re.S)
    assert found
    return found.group(0)


def test_the_page_opens_the_key_in_an_authenticator_app_on_this_phone(client):
    web_sign_up(client)

    page = client.get(SETUP)

    link = re.search(r'<a [^>]*href="(otpauth://[^"]+)"[^>]*>([^<]+)</a>', page.text)
    assert link, page.text
    assert link.group(2) == "Open in authenticator app"
    uri = urlsplit(html.unescape(link.group(1)))
    assert uri.netloc == "totp"
    assert parse_qs(uri.query)["secret"] == [key_on(page)]
    assert parse_qs(uri.query)["issuer"] == ["mamori"]


def test_the_link_reads_as_japanese_on_a_japanese_page(client):
    web_sign_up(client)
    client.cookies.set("mamori_lang", "ja")

    page = client.get(SETUP)

    assert "認証アプリで開く" in page.text


def test_a_mistyped_code_keeps_the_same_qr_code_and_says_what_went_wrong(client, clock):
    web_sign_up(client)
    page = client.get(SETUP)
    wrong_code = pyotp.TOTP(pyotp.random_base32()).now()

    wrong = client.post(SETUP, data={"csrf_token": csrf_from(page), "code": "12345"})
    wrong_again = client.post(SETUP, data={"csrf_token": csrf_from(page), "code": wrong_code})

    for answer in (wrong, wrong_again):
        assert answer.status_code == 400
        assert 'role="alert"' in answer.text
        assert key_on(answer) == key_on(page)
        assert qr_on(answer) == qr_on(page)
        assert 'aria-invalid="true"' in answer.text
    right = client.post(
        SETUP,
        data={
            "csrf_token": csrf_from(page),
            "code": pyotp.TOTP(key_on(page)).at(clock.now().timestamp()),
        },
    )
    assert right.status_code == 200
    assert "<h1>Two-factor authentication is on</h1>" in right.text


def test_a_reload_and_the_language_switch_show_the_same_key(client):
    web_sign_up(client)
    page = client.get(SETUP)

    reloaded = client.get(SETUP)
    client.post("/language", data={"csrf_token": csrf_from(page), "lang": "ja", "next": SETUP})
    japanese = client.get(SETUP)

    assert key_on(reloaded) == key_on(page)
    assert key_on(japanese) == key_on(page)


def test_an_hour_old_unfinished_setup_gets_a_new_key(client, clock):
    web_sign_up(client)
    first = client.get(SETUP)
    clock.advance(minutes=9)
    assert key_on(client.get(SETUP)) == key_on(first)

    clock.advance(minutes=52)
    client.post(
        "/reauthenticate",
        data={
            "csrf_token": csrf_from(client.get("/reauthenticate")),
            "password": PASSWORD,
        },
    )
    later = client.get(SETUP)

    assert key_on(later) != key_on(first)
