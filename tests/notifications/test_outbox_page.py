"""/dev/outbox: an inbox page for a browser, the JSON list of DESIGN.md for the rest."""

from __future__ import annotations

from mamori.notifications.api import Part, message_parts
from tests.conftest import PASSWORD
from tests.core.helpers import web_sign_up
from tests.recovery.helpers import last_code_sent_to

BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_a_browser_gets_an_inbox_with_clickable_codes_newest_first(client):
    web_sign_up(client, "hana", PASSWORD, email="hana@example.com")
    client.cookies.clear()
    web_sign_up(client, "emi", PASSWORD, email="emi@example.com")
    hana_code = last_code_sent_to(client, "hana@example.com")

    page = client.get("/dev/outbox", headers=BROWSER)

    assert page.headers["content-type"].startswith("text/html")
    assert "<h1>Outbox (development)</h1>" in page.text
    assert page.text.index("E-mail to emi@example.com") < page.text.index(
        "E-mail to hana@example.com"
    )
    assert f'<button type="button" class="secondary code-text" data-code="{hana_code}"' in page.text


def test_every_other_client_keeps_the_json_list(client):
    answer = client.get("/dev/outbox", headers={"Accept": "application/json"})

    assert answer.headers["content-type"] == "application/json"
    assert answer.json() == []


def test_codes_and_links_in_a_message_are_picked_out():
    line = "Your code is 123456. Cancel: https://id.example.com/recovery/cancel/abc."

    assert message_parts(line) == [
        Part("text", "Your code is "),
        Part("code", "123456"),
        Part("text", ". Cancel: "),
        Part("link", "https://id.example.com/recovery/cancel/abc"),
        Part("text", "."),
    ]


def test_phone_numbers_and_dates_are_not_codes():
    for line in ("Call +819012345678", "on 2026-12-07 at 23:34", "090-1234-5678"):
        assert [p.kind for p in message_parts(line)] == ["text"]
