""" "Can't log in?" on the pages, without JavaScript: every step, errors, cancel links."""

from __future__ import annotations

import re

from tests.conftest import PASSWORD
from tests.core.helpers import clock_of, csrf_from, shown, submit, web_log_in
from tests.recovery.helpers import (
    NEW_PASSWORD,
    account,
    can_log_in,
    confirm_addresses,
    last_code_sent_to,
)
from tests.two_factor.helpers import user_with_app


def post(client, action: str, page: str = "/recovery", **fields: str):
    return submit(client, page, action, **fields)


def test_the_login_and_challenge_pages_lead_to_recovery(client, ctx):
    assert 'href="/recovery"' in client.get("/login").text
    user_with_app(client, clock_of(ctx))
    web_log_in(client, "hana", PASSWORD)
    challenge = client.get("/login/two-factor")
    assert "Need more help?" in shown(challenge)
    assert 'href="/recovery"' in challenge.text


def test_without_two_factor_a_code_then_a_new_password(client, ctx):
    account(client, ctx)
    started = post(client, "/recovery", login="hana")
    assert started.status_code == 303
    assert started.headers["location"] == "/recovery/options"

    options = client.get("/recovery/options")
    assert "E-mail to h•••a@e•••.com" in shown(options)
    sent = post(client, "/recovery/send", "/recovery/options", option="email")
    assert sent.status_code == 200
    assert "If an account matches, we sent a code to h•••a@e•••.com." in shown(sent)
    assert 'autocomplete="one-time-code"' in sent.text
    assert 'inputmode="numeric"' in sent.text

    wrong = submit_code(client, "000000" if last_code(client) != "000000" else "111111")
    assert wrong.status_code == 400
    assert "That code isn't valid" in shown(wrong)
    right = submit_code(client, last_code(client))
    assert right.headers["location"] == "/recovery/new-password"

    form = client.get("/recovery/new-password")
    assert 'autocomplete="new-password"' in form.text
    weak = post(client, "/recovery/new-password", "/recovery/new-password", new_password="password")
    assert weak.status_code == 422
    done = post(
        client, "/recovery/new-password", "/recovery/new-password", new_password=NEW_PASSWORD
    )
    assert done.headers["location"] == "/recovery/done"
    page = client.get("/recovery/done")
    assert "Your password was changed" in shown(page)
    assert "/login?next=/accounts/center/security-review" in page.text
    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"


def last_code(client) -> str:
    return last_code_sent_to(client, "hana@example.com")


def submit_code(client, code: str, option: str = "email"):
    return post(client, "/recovery/code", "/recovery/code", option=option, code=code)


def test_phone_lost_password_known_on_the_pages(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    post(client, "/recovery", login="hana")
    post(client, "/recovery/send", "/recovery/options", option="email")
    proven = submit_code(client, last_code(client))
    assert proven.headers["location"] == "/recovery/more"

    more = client.get("/recovery/more")
    assert "One more step" in shown(more)
    assert "Use your authenticator app" in shown(more)
    assert "Use a backup code" in shown(more)
    wrong = post(client, "/recovery/password", "/recovery/more", password="not my password")
    assert wrong.status_code == 401
    assert "The password isn't right" in shown(wrong)
    right = post(client, "/recovery/password", "/recovery/more", password=PASSWORD)
    assert right.headers["location"] == "/recovery/new-password"
    form = client.get("/recovery/new-password")
    assert "waiting period" in shown(form)

    post(client, "/recovery/new-password", "/recovery/new-password", new_password=NEW_PASSWORD)
    holding = client.get("/recovery/done")

    assert "Your recovery is on its way" in shown(holding)
    assert can_log_in(client, "hana", NEW_PASSWORD) == "invalid_credentials"


def test_the_owner_sees_the_recovery_and_cancels_it_from_a_logged_in_session(client, ctx):
    from tests.backup_codes.helpers import web_login
    from tests.core.helpers import app_client

    token, _, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    with app_client(ctx) as stranger:
        post(stranger, "/recovery", login="hana")
        post(stranger, "/recovery/send", "/recovery/options", option="email")
        submit_code(stranger, last_code(client))
        post(stranger, "/recovery/password", "/recovery/more", password=PASSWORD)
        post(
            stranger, "/recovery/new-password", "/recovery/new-password", new_password=NEW_PASSWORD
        )
    # The owner, still logged in on their own device, sees it on every account page.
    web_login(client, token)
    assert "Someone is recovering your account" in shown(client.get("/accounts/center"))
    owner_page = client.get("/accounts/center/password-and-security")
    assert "Someone is recovering your account" in shown(owner_page)
    action = re.search(r'action="(/accounts/center/recoveries/[^"]+/cancel)"', owner_page.text)
    assert action

    cancelled = client.post(
        action.group(1), data={"csrf_token": csrf_from(owner_page)}, follow_redirects=False
    )

    assert cancelled.status_code == 200
    assert "Recovery cancelled" in shown(cancelled)
    assert "Someone is recovering" not in shown(
        client.get("/accounts/center/password-and-security")
    )
    clock_of(ctx).advance(hours=73)
    assert can_log_in(client, "hana", NEW_PASSWORD) == "invalid_credentials"


def test_the_cancel_link_page_cancels_once_and_hides_its_secret(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    post(client, "/recovery", login="hana")
    post(client, "/recovery/send", "/recovery/options", option="email")
    submit_code(client, last_code(client))
    post(client, "/recovery/password", "/recovery/more", password=PASSWORD)
    post(client, "/recovery/new-password", "/recovery/new-password", new_password=NEW_PASSWORD)
    alert = next(
        m
        for m in client.get("/dev/outbox").json()
        if m["subject"] == "Your account is being recovered"
    )
    link = re.search(r"http://localhost(/recovery/cancel/\S+)", alert["body"])
    assert link

    page = client.get(link.group(1))
    assert page.headers["referrer-policy"] == "no-referrer"
    cancelled = post(client, link.group(1), link.group(1))
    assert cancelled.status_code == 200
    assert "Recovery cancelled" in shown(cancelled)
    again = post(client, link.group(1), link.group(1))
    assert again.status_code == 410
    assert again.headers["referrer-policy"] == "no-referrer"
    clock_of(ctx).advance(hours=73)
    assert can_log_in(client, "hana", NEW_PASSWORD) == "invalid_credentials"


def test_every_recovery_form_needs_its_csrf_token(client, ctx):
    account(client, ctx)
    for action, fields in [
        ("/recovery", {"login": "hana"}),
        ("/recovery/send", {"option": "email"}),
        ("/recovery/code", {"option": "email", "code": "123456"}),
        ("/recovery/password", {"password": PASSWORD}),
        ("/recovery/second-factor", {"method": "totp", "code": "123456"}),
        ("/recovery/new-password", {"new_password": NEW_PASSWORD}),
        ("/recovery/cancel/abc", {}),
        ("/accounts/center/recoveries/abc/cancel", {}),
    ]:
        refused = client.post(action, data=fields, follow_redirects=False)
        assert refused.status_code == 403, action


def test_an_expired_recovery_starts_over(client, ctx):
    account(client, ctx)
    post(client, "/recovery", login="hana")
    clock_of(ctx).advance(hours=25)
    for path in ("/recovery/options", "/recovery/code", "/recovery/more", "/recovery/done"):
        page = client.get(path)
        assert page.status_code == 410, path
        assert "This recovery expired. Start again." in shown(page)


def test_recovery_pages_in_japanese(client, ctx):
    account(client, ctx)
    client.cookies.set("mamori_lang", "ja")
    start = client.get("/recovery")
    assert start.text.count("ログイン") >= 1
    assert 'lang="ja"' in start.text
    post(client, "/recovery", login="hana")
    options = client.get("/recovery/options")
    assert "h•••a@e•••.com" in shown(options)
    assert "Get a security code" not in shown(options)


def test_the_cancel_link_never_reaches_the_access_log(caplog):
    import logging

    from mamori.recovery import views  # installs the filter

    assert views.CANCEL_LINK == "/recovery/cancel/"
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "203.0.113.9:5000",
            "POST",
            "/recovery/cancel/SECRETCANCEL123",
            "1.1",
            200,
        )
    assert "SECRETCANCEL123" not in caplog.text
    assert "/recovery/cancel/…" in caplog.text
