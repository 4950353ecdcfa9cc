"""The two-factor step as a person meets it (issue 12): choosing text message sends the
code at once, the page says when a new one can be sent, a backup-code login says how
many codes are left, and Back after logging in goes on instead of "login expired"."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from tests.conftest import PASSWORD
from tests.core.helpers import csrf_from
from tests.two_factor.helpers import last_code_sent_to
from tests.two_factor.test_pages import turn_on_app, web_log_in, web_sign_up
from tests.two_factor.test_text_messages import turn_on_text_messages

STEP = "/login/two-factor"
PHONE = "+819012345678"


def texts_to_phone(client) -> int:
    return len([m for m in client.get("/dev/outbox").json() if m["to"] == PHONE])


def switch_target(page) -> str:
    """Where the language switch on this page sends the person back to."""
    form = re.search(r'<form class="lang".*?</form>', page.text, re.S)
    assert form, "no language switch"
    found = re.search(r'name="next" value="([^"]*)"', form.group(0))
    assert found
    return html.unescape(found.group(1))


def alert(page) -> str:
    found = re.search(r'role="alert">([^<]+)<', page.text)
    return found.group(1) if found else ""


def sms_login(client: TestClient) -> None:
    turn_on_text_messages(client)
    client.cookies.clear()
    answer = web_log_in(client)
    assert answer.status_code == 303


def test_choosing_text_message_sends_the_code_at_once(client):
    sms_login(client)
    chooser = client.get(f"{STEP}/methods")

    sent = client.post(f"{STEP}/send", data={"csrf_token": csrf_from(chooser), "method": "sms"})

    assert sent.status_code == 200
    assert sent.url.path == STEP  # a page to come back to, not a form to send again
    assert texts_to_phone(client) == 2  # the enrollment's code, then this login's
    assert "We sent a code to" in sent.text
    assert "You can get a new code in 30 seconds." in sent.text
    assert 'name="code"' in sent.text
    done = client.post(
        STEP,
        data={
            "csrf_token": csrf_from(sent),
            "method": "sms",
            "code": last_code_sent_to(client, PHONE),
        },
        follow_redirects=False,
    )
    assert done.status_code == 303


def test_the_chooser_offers_text_message_as_one_button_that_sends(client):
    sms_login(client)

    chooser = client.get(f"{STEP}/methods")

    form = re.search(
        r'<form method="post" action="/login/two-factor/send">.*?</form>', chooser.text, re.S
    )
    assert form, chooser.text
    assert 'value="sms"' in form.group(0)
    assert "Get a code by text message" in form.group(0)


def test_asking_again_too_soon_says_how_long_in_one_sentence(client, clock):
    sms_login(client)
    page = client.get(f"{STEP}?method=sms")
    client.post(f"{STEP}/send", data={"csrf_token": csrf_from(page), "method": "sms"})
    clock.advance(seconds=12)

    again = client.post(f"{STEP}/send", data={"csrf_token": csrf_from(page), "method": "sms"})

    assert again.status_code == 200
    assert "You can get a new code in 18 seconds." in again.text
    assert "Try again in" not in again.text
    assert "min." not in again.text
    assert texts_to_phone(client) == 2
    assert 'name="code"' in again.text  # the code already sent can still be typed


def test_asking_again_too_soon_in_japanese(client, clock):
    sms_login(client)
    client.cookies.set("mamori_lang", "ja")
    page = client.get(f"{STEP}?method=sms")
    client.post(f"{STEP}/send", data={"csrf_token": csrf_from(page), "method": "sms"})

    again = client.post(f"{STEP}/send", data={"csrf_token": csrf_from(page), "method": "sms"})

    assert "新しいコードは30秒後に送信できます。" in again.text


def test_after_the_wait_the_page_offers_a_new_code_without_javascript(client, clock):
    sms_login(client)
    page = client.get(f"{STEP}?method=sms")
    client.post(f"{STEP}/send", data={"csrf_token": csrf_from(page), "method": "sms"})
    clock.advance(seconds=31)

    again = client.post(f"{STEP}/send", data={"csrf_token": csrf_from(page), "method": "sms"})

    assert again.status_code == 200
    assert texts_to_phone(client) == 3
    assert "Send a new code" in again.text


def test_the_language_switch_keeps_the_chosen_method_and_the_wait(client, clock):
    sms_login(client)
    chooser = client.get(f"{STEP}/methods")
    sent = client.post(f"{STEP}/send", data={"csrf_token": csrf_from(chooser), "method": "sms"})
    target = switch_target(sent)

    switched = client.post(
        "/language", data={"csrf_token": csrf_from(sent), "lang": "ja", "next": target}
    )

    assert switched.status_code == 200
    assert 'value="sms"' in switched.text
    assert "テキストメッセージ" in switched.text or "SMS" in switched.text
    assert "新しいコードは30秒後に送信できます。" in switched.text
    assert texts_to_phone(client) == 2  # switching sends nothing


def test_a_wrong_code_page_switches_language_to_the_same_method(client, clock):
    web_sign_up(client)
    turn_on_app(client, clock)
    client.cookies.clear()
    web_log_in(client)
    page = client.get(f"{STEP}?method=backup_code")

    wrong = client.post(
        STEP, data={"csrf_token": csrf_from(page), "method": "backup_code", "code": "11112222"}
    )

    assert wrong.status_code == 400
    back = client.get(switch_target(wrong))
    assert back.status_code == 200
    assert 'name="method" value="backup_code"' in back.text


def test_next_is_carried_through_the_two_factor_step(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    client.cookies.clear()
    target = "/accounts/center/password-and-security/sessions?from=mail"
    login_page = client.get("/login", params={"next": target})
    answer = client.post(
        "/login",
        data={
            "csrf_token": csrf_from(login_page),
            "login": "hana",
            "password": PASSWORD,
            "next": target,
        },
        follow_redirects=False,
    )
    step = client.get(answer.headers["location"])
    assert switch_target(step).startswith(STEP)

    carried = re.search(r'name="next" value="([^"]*)"', step.text.split("</header>", 1)[1])
    assert carried
    assert html.unescape(carried.group(1)) == target

    done = client.post(
        STEP,
        data={
            "csrf_token": csrf_from(step),
            "method": "backup_code",
            "code": codes[0],
            "next": html.unescape(carried.group(1)),
        },
        follow_redirects=False,
    )

    assert done.status_code == 303
    left = client.get(done.headers["location"])
    continue_link = re.search(r'<a class="button primary" href="([^"]+)"', left.text)
    assert continue_link
    assert html.unescape(continue_link.group(1)) == target


def test_after_a_backup_code_login_the_next_page_says_how_many_are_left(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    client.cookies.clear()
    web_log_in(client)
    page = client.get(f"{STEP}?method=backup_code")

    done = client.post(
        STEP,
        data={"csrf_token": csrf_from(page), "method": "backup_code", "code": codes[0]},
    )

    assert done.status_code == 200
    assert "9 backup codes left" in done.text


def test_the_last_but_one_backup_code_says_one_is_left_in_japanese(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    for code in codes[:9]:
        client.cookies.clear()
        client.cookies.set("mamori_lang", "ja")
        web_log_in(client)
        page = client.get(f"{STEP}?method=backup_code")
        done = client.post(
            STEP, data={"csrf_token": csrf_from(page), "method": "backup_code", "code": code}
        )

    assert "バックアップコードは残り1個です" in done.text
    assert "alert warning" in done.text
    client.cookies.set("mamori_lang", "en")
    assert "1 backup code left" in client.get(done.url).text


def test_seven_left_in_japanese(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    for code in codes[:3]:
        client.cookies.clear()
        client.cookies.set("mamori_lang", "ja")
        web_log_in(client)
        page = client.get(f"{STEP}?method=backup_code")
        done = client.post(
            STEP, data={"csrf_token": csrf_from(page), "method": "backup_code", "code": code}
        )

    assert "バックアップコードは残り7個です" in done.text


def test_back_to_the_two_factor_step_after_logging_in_goes_on(client, clock):
    web_sign_up(client)
    _, codes = turn_on_app(client, clock)
    client.cookies.clear()
    web_log_in(client)
    page = client.get(f"{STEP}?method=backup_code")
    client.post(
        STEP, data={"csrf_token": csrf_from(page), "method": "backup_code", "code": codes[0]}
    )

    back = client.get(f"{STEP}?method=backup_code", follow_redirects=False)
    resent = client.post(
        STEP,
        data={"csrf_token": csrf_from(page), "method": "backup_code", "code": codes[0]},
        follow_redirects=False,
    )
    chooser = client.get(f"{STEP}/methods", follow_redirects=False)

    for answer in (back, resent, chooser):
        assert answer.status_code == 303
        assert "expired" not in answer.text
    assert "Logged in as hana" in client.get(back.headers["location"]).text


def test_without_a_session_an_old_step_still_says_expired(client):
    page = client.get(STEP)

    assert page.status_code == 410
    assert "expired" in page.text


def test_too_many_wrong_codes_say_how_long_in_one_sentence(client, clock):
    web_sign_up(client)
    turn_on_app(client, clock)
    client.cookies.clear()
    web_log_in(client)
    page = client.get(f"{STEP}?method=backup_code")

    answers = [
        client.post(
            STEP, data={"csrf_token": csrf_from(page), "method": "backup_code", "code": "11112222"}
        )
        for _ in range(8)
    ]

    held = [answer for answer in answers if answer.status_code == 429]
    assert held, [answer.status_code for answer in answers]
    message = alert(held[0])
    assert re.fullmatch(
        r"Too many tries: try again in (1 second|\d+ seconds|1 minute|\d+ minutes)\.", message
    )
    assert 'name="method" value="backup_code"' in held[0].text
