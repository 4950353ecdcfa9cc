"""Accounts Center → Password and security → Contact details, without JavaScript."""

from __future__ import annotations

import re

import pytest

from mamori.contact_details.models import PendingContactChange
from tests.conftest import PASSWORD
from tests.contact_details.helpers import PAGE, code_for, messages_to, stored_user
from tests.core.helpers import count, csrf_from, shown, submit, web_sign_up

SECURITY = "/accounts/center/password-and-security"
JA = {"Accept-Language": "ja"}


def signed_up(client, **fields: str) -> None:
    assert web_sign_up(client, "hana", PASSWORD, **fields).status_code == 303


def forms(page) -> list[str]:
    return re.findall(r"<form\b[^>]*>.*?</form>", page.text, flags=re.S | re.I)


def test_the_page_is_reached_from_password_and_security_and_shows_what_is_confirmed(client):
    signed_up(client, email="hana@example.com", phone="090-1234-5678")

    overview = client.get(SECURITY)
    assert f'href="{PAGE}"' in overview.text
    page = client.get(PAGE)

    assert page.status_code == 200
    assert "hana@example.com" in page.text
    assert "090-1234-5678" in page.text  # as people write it
    assert shown(page).count("Not confirmed") == 2
    # Sign-up sent the code already: the page asks for it rather than offering another.
    assert "Waiting for the code we sent to hana@example.com." in shown(page)
    assert "Confirm hana@example.com" not in page.text
    for form in forms(page):
        assert 'name="csrf_token"' in form
    assert page.headers["cache-control"] == "no-store"


def test_confirming_the_e_mail_on_the_page(client, ctx):
    signed_up(client, email="hana@example.com")
    ctx.clock.advance(minutes=10)  # past the resend wait after sign-up's own code

    sent = submit(client, PAGE, f"{PAGE}/email", address="hana@example.com")
    assert sent.status_code == 200, sent.text
    assert "We e-mailed a 6-digit code to hana@example.com." in shown(sent)
    assert 'inputmode="numeric"' in sent.text
    assert 'autocomplete="one-time-code"' in sent.text
    token = csrf_from(sent)
    done = client.post(
        f"{PAGE}/email/confirm",
        data={"csrf_token": token, "code": code_for(client, "hana@example.com")},
    )

    assert done.status_code == 200, done.text
    assert "Your e-mail address is confirmed." in shown(done)
    assert "✓ Confirmed" in shown(done)
    assert stored_user(ctx).email_confirmed_at is not None


def test_a_wrong_code_on_the_page_says_so_and_lets_you_try_again(client, ctx):
    signed_up(client, email="hana@example.com")
    ctx.clock.advance(minutes=10)  # past the resend wait after sign-up's own code
    sent = submit(client, PAGE, f"{PAGE}/email", address="hana@example.com")
    code = code_for(client, "hana@example.com")
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"

    answer = client.post(
        f"{PAGE}/email/confirm", data={"csrf_token": csrf_from(sent), "code": wrong}
    )

    assert answer.status_code == 400
    assert 'role="alert"' in answer.text
    assert "That code isn&#39;t valid" in answer.text
    assert 'name="code"' in answer.text
    assert stored_user(ctx).email_confirmed_at is None


def test_changing_the_phone_on_the_page_asks_who_you_are_first(client, ctx, clock):
    signed_up(client, phone="090-1234-5678")
    clock.advance(minutes=11)

    asked = client.get(f"{PAGE}/phone", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == f"/reauthenticate?next={PAGE}/phone"
    proved = submit(
        client, "/reauthenticate", "/reauthenticate", password=PASSWORD, next=f"{PAGE}/phone"
    )
    assert proved.headers["location"] == f"{PAGE}/phone"

    form = client.get(f"{PAGE}/phone")
    assert 'type="tel"' in form.text
    sent = submit(client, f"{PAGE}/phone", f"{PAGE}/phone", address="080-1111-2222")
    assert "We texted a 6-digit code to +818011112222." in shown(sent)
    assert stored_user(ctx).phone == "+819012345678"  # not until the code comes back
    waiting = client.get(PAGE)
    assert "Waiting for the code we sent to 080-1111-2222." in shown(waiting)

    done = client.post(
        f"{PAGE}/phone/confirm",
        data={"csrf_token": csrf_from(sent), "code": code_for(client, "+818011112222")},
    )
    assert "Your phone number is confirmed." in shown(done)
    assert stored_user(ctx).phone == "+818011112222"
    assert messages_to(client, "+819012345678")[0]["channel"] == "sms"


def test_removing_on_the_page_asks_are_you_sure(client, ctx):
    signed_up(client, email="hana@example.com")

    sure = client.get(f"{PAGE}/email/remove")
    assert "Remove hana@example.com?" in sure.text
    assert stored_user(ctx).email == "hana@example.com"
    done = submit(client, f"{PAGE}/email/remove", f"{PAGE}/email/remove")

    assert "Your e-mail address was removed." in shown(done)
    assert stored_user(ctx).email is None
    assert "Add e-mail address" in done.text


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        ("email", {"address": "new@example.com"}),
        ("email/send", {}),
        ("email/confirm", {"code": "123456"}),
        ("email/remove", {}),
        ("phone", {"address": "080-1111-2222"}),
        ("phone/send", {}),
        ("phone/confirm", {"code": "123456"}),
        ("phone/remove", {}),
    ],
)
def test_every_form_needs_the_csrf_token(client, ctx, action, fields):
    signed_up(client, email="hana@example.com", phone="090-1234-5678")
    client.get(PAGE)
    waiting = count(ctx, PendingContactChange)  # the codes sign-up sent

    for token in ("", "A" * 43):
        answer = client.post(
            f"{PAGE}/{action}", data={"csrf_token": token, **fields}, follow_redirects=False
        )
        assert answer.status_code == 403
        assert "This form expired; reload the page and try again" in shown(answer)

    user = stored_user(ctx)
    assert (user.email, user.phone) == ("hana@example.com", "+819012345678")
    assert count(ctx, PendingContactChange) == waiting
    assert not messages_to(client, "new@example.com")


def test_logged_out_visitors_are_sent_to_log_in(client):
    answer = client.get(PAGE, follow_redirects=False)

    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_the_page_and_its_errors_in_japanese(client, ctx):
    signed_up(client, email="hana@example.com")

    page = client.get(PAGE, headers=JA)
    assert '<html lang="ja">' in page.text
    assert "連絡先" in page.text
    assert "未確認" in page.text
    assert "Not confirmed" not in page.text

    refused = client.post(
        f"{PAGE}/phone",
        data={"csrf_token": csrf_from(page), "address": "not a phone"},
        headers=JA,
    )
    assert refused.status_code == 422
    alert = re.search(r'role="alert">([^<]+)<', refused.text)
    assert alert
    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", alert.group(1))
    sent = client.post(
        f"{PAGE}/email",
        data={"csrf_token": csrf_from(page), "address": "hana@example.com"},
        headers=JA,
    )
    assert "hana@example.com" in sent.text
    assert "確認コード" in sent.text or "コード" in sent.text
