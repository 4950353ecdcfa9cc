"""An e-mail or phone typed at sign-up gets its code at once; the next page asks for it."""

from __future__ import annotations

from tests.conftest import PASSWORD
from tests.contact_details.helpers import code_for, stored_user
from tests.core.helpers import shown, submit, web_sign_up

CONFIRM = "/signup/confirm"


def test_the_e_mail_typed_at_sign_up_is_confirmed_on_the_next_page(client, ctx):
    answer = web_sign_up(client, "hana", PASSWORD, email="hana@example.com")

    assert answer.headers["location"] == CONFIRM
    page = client.get(CONFIRM)
    assert "Confirm your e-mail address" in shown(page)
    assert "We e-mailed a 6-digit code to hana@example.com." in shown(page)
    assert 'autocomplete="one-time-code"' in page.text
    assert 'href="/accounts/center">Later</a>' in page.text

    done = submit(
        client, CONFIRM, "/signup/confirm/email", code=code_for(client, "hana@example.com")
    )

    assert "Your e-mail address is confirmed." in shown(done)
    assert stored_user(ctx).email_confirmed_at is not None
    center = client.get("/accounts/center")
    assert "isn't confirmed yet" not in shown(center)


def test_a_wrong_code_says_so_on_the_same_page(client, ctx):
    web_sign_up(client, "hana", PASSWORD, email="hana@example.com")
    right = code_for(client, "hana@example.com")
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"

    answer = submit(client, CONFIRM, "/signup/confirm/email", code=wrong)

    assert answer.status_code >= 400
    assert "Confirm your e-mail address" in shown(answer)
    # Said beside the code field, which is marked as the one to fix.
    assert 'class="field-error" id="code-error" role="alert"' in answer.text
    assert 'aria-invalid="true"' in answer.text
    assert stored_user(ctx).email_confirmed_at is None


def test_e_mail_then_phone_then_the_accounts_center(client, ctx):
    web_sign_up(client, "hana", PASSWORD, email="hana@example.com", phone="090-1234-5678")

    after_email = submit(
        client, CONFIRM, "/signup/confirm/email", code=code_for(client, "hana@example.com")
    )
    assert "Your e-mail address is confirmed." in shown(after_email)
    assert "Confirm your phone number" in shown(after_email)
    assert "We texted a 6-digit code to 090-1234-5678." in shown(after_email)

    submit(client, CONFIRM, "/signup/confirm/phone", code=code_for(client, "+819012345678"))

    user = stored_user(ctx)
    assert user.email_confirmed_at is not None and user.phone_confirmed_at is not None
    assert client.get(CONFIRM, follow_redirects=False).headers["location"] == "/accounts/center"


def test_a_sign_up_without_addresses_goes_straight_to_the_accounts_center(client):
    answer = web_sign_up(client, "hana", PASSWORD)

    assert answer.headers["location"] == "/accounts/center"
    assert client.get("/dev/outbox").json() == []


def test_later_keeps_a_reminder_that_links_to_confirming(client, ctx):
    web_sign_up(client, "hana", PASSWORD, email="hana@example.com")

    page = client.get("/accounts/center/password-and-security/contact-details")
    assert "Not confirmed: can't receive recovery codes yet" in shown(page)
    assert "Only a confirmed e-mail address or phone number can receive" in shown(page)
    too_soon = submit(client, CONFIRM, "/signup/confirm/email/send")
    assert too_soon.status_code == 429
    assert "Confirm your e-mail address" in shown(too_soon)
    ctx.clock.advance(minutes=10)
    again = submit(client, CONFIRM, "/signup/confirm/email/send")
    assert "We sent a new code." in shown(again)
