""" "This wasn't me": from the alert e-mail or the alerts list, with or without a session.
It ends every session, holds the next login to "set a new password", is audited and
alerted; a forged, expired or reused link does nothing."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from mamori.accounts.models import User
from mamori.notifications.links import base36
from mamori.security.models import DisownedEvent
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import app_client, csrf_from, events, problem, shown, web_log_in
from tests.security.helpers import api_log_in, wasnt_me_link
from tests.two_factor.helpers import app_code, user_with_app

MAIL = "hana@example.com"
NEW_PASSWORD = "a brand new passphrase"
CHANGED = "Your password was changed"


def changed_password(client) -> str:
    """hana changes her password (her own doing, or someone's with her session); returns
    the "This wasn't me" link of the alert."""
    token = log_in(client)
    response = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204
    return wasnt_me_link(client, MAIL, CHANGED)


def confirm(client, link: str):
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(link, data={"csrf_token": csrf_from(page)}, follow_redirects=False)


def test_the_link_works_without_a_session_and_ends_every_session(client, ctx):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    phone = log_in(client, password=NEW_PASSWORD)
    web_log_in(client, "hana", NEW_PASSWORD)
    assert client.get("/accounts/center", follow_redirects=False).status_code == 200

    with app_client(ctx) as stranger_browser:  # not logged in at all
        page = stranger_browser.get(link)
        assert page.status_code == 200
        assert "Your password was changed" in shown(page)
        assert page.headers["referrer-policy"] == "no-referrer"
        done = confirm(stranger_browser, link)

    assert done.status_code == 200
    assert "Your account is secured" in shown(done)
    assert "/accounts/center/security-review" in done.text
    problem(client.get("/api/v1/me", headers=bearer(phone)), 401, "not_authenticated")
    page = client.get("/accounts/center", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login")
    [secured] = events(ctx, "security.wasnt_me")
    assert secured.details["disowned_event"] == "password.changed"
    assert secured.details["sessions_ended"] == 3  # the one that changed it, too
    assert client.get("/dev/outbox").json()[0]["subject"] == "Your account was secured"


def test_the_session_in_use_ends_too(client):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    web_log_in(client, "hana", NEW_PASSWORD)

    done = confirm(client, link)

    assert done.status_code == 200
    assert client.get("/accounts/center", follow_redirects=False).status_code == 303


def test_over_the_api_the_next_login_must_set_a_new_password_first(client):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    secured = client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]})
    assert secured.status_code == 200, secured.text

    answer = client.post("/api/v1/login", json={"login": "hana", "password": NEW_PASSWORD})
    body = problem(answer, 403, "password_change_required")
    held = body["token"]
    assert body["set_password"] == "/api/v1/me/password/new"
    # The held token opens nothing else.
    problem(client.get("/api/v1/me", headers=bearer(held)), 403, "password_change_required")
    problem(
        client.get("/api/v1/me/sessions", headers=bearer(held)), 403, "password_change_required"
    )
    # The old password again is refused.
    problem(
        client.post(
            "/api/v1/me/password/new", headers=bearer(held), json={"new_password": NEW_PASSWORD}
        ),
        422,
        "password_reused",
    )

    done = client.post(
        "/api/v1/me/password/new",
        headers=bearer(held),
        json={"new_password": "the third passphrase"},
    )

    assert done.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(held)).status_code == 200
    assert log_in(client, password="the third passphrase")
    problem(
        client.post("/api/v1/login", json={"login": "hana", "password": NEW_PASSWORD}),
        401,
        "invalid_credentials",
    )
    problem(
        client.post(
            "/api/v1/me/password/new", headers=bearer(held), json={"new_password": "x" * 20}
        ),
        409,
        "password_change_not_required",
    )


def test_on_pages_the_next_login_leads_to_set_a_new_password_before_anything(client):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    confirm(client, link)

    login = web_log_in(client, "hana", NEW_PASSWORD, next="/accounts/center")

    assert login.status_code == 303
    assert login.headers["location"] == "/accounts/new-password"
    for elsewhere in ("/accounts/center", "/accounts/center/password-and-security/checkup"):
        page = client.get(elsewhere, follow_redirects=False)
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    form = client.get("/accounts/new-password")
    assert form.status_code == 200
    assert 'autocomplete="new-password"' in form.text
    too_short = client.post(
        "/accounts/new-password",
        data={"csrf_token": csrf_from(form), "new_password": "short"},
        follow_redirects=False,
    )
    assert too_short.status_code == 422

    done = client.post(
        "/accounts/new-password",
        data={"csrf_token": csrf_from(form), "new_password": "the third passphrase"},
        follow_redirects=False,
    )

    assert done.status_code == 303
    assert done.headers["location"] == "/accounts/center/security-review"
    assert client.get(done.headers["location"], follow_redirects=False).status_code == 200
    assert client.get("/accounts/center", follow_redirects=False).status_code == 200


def test_with_two_factor_the_second_factor_comes_before_the_new_password(client, clock):
    token, secret, _ = user_with_app(client, clock)
    link = wasnt_me_link(client, MAIL, "Two-factor authentication is on")
    assert (
        client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]}).status_code == 200
    )
    problem(client.get("/api/v1/me", headers=bearer(token)), 401, "not_authenticated")

    start = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
    assert start.json()["status"] == "two_factor_required"
    verify = client.post(
        f"/api/v1/login/{start.json()['challenge']}/verify",
        json={"method": "totp", "code": app_code(secret, clock)},
    )

    problem(verify, 403, "password_change_required")


@pytest.mark.both_databases  # the unique digest spends a link once
def test_a_used_link_is_refused_and_changes_nothing_more(client, ctx):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    confirm(client, link)
    token_after = None
    with app_client(ctx) as other:
        answer = other.post("/api/v1/login", json={"login": "hana", "password": NEW_PASSWORD})
        token_after = problem(answer, 403, "password_change_required")["token"]
        other.post(
            "/api/v1/me/password/new",
            headers=bearer(token_after),
            json={"new_password": "the third passphrase"},
        )

    again = client.get(link)
    assert again.status_code == 409
    assert "This link was already used" in shown(again)
    problem(
        client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]}),
        409,
        "link_already_used",
    )

    assert len(events(ctx, "security.wasnt_me")) == 1
    assert client.get("/api/v1/me", headers=bearer(token_after)).status_code == 200


def test_forged_and_expired_links_are_refused(client, ctx, clock):
    sign_up(client, email=MAIL)
    sign_up(client, "mallory", email="mallory@example.com")
    link = changed_password(client)
    event_id, expires, mac = link.rsplit("/", 1)[1].split(".")
    mallory_token = api_log_in(client, login="mallory")
    client.post(
        "/api/v1/me/password",
        headers=bearer(mallory_token),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    mallory_link = wasnt_me_link(client, "mallory@example.com", CHANGED)
    _, _, mallory_mac = mallory_link.rsplit("/", 1)[1].split(".")

    forged = [
        f"{event_id}.{expires}.{'A' * 43}",
        f"{event_id}.{base36(int(expires, 36) + 86400)}.{mac}",  # a longer life
        f"{base36(int(event_id, 36) - 1)}.{expires}.{mac}",  # another event
        f"{event_id}.{expires}.{mallory_mac}",  # someone else's signature
        f"{event_id}.{expires}.{mac.swapcase()}",
        f"{int(event_id, 36)}.{int(expires, 36)}.{mac}",  # the numbers in decimal
    ]
    for token in forged:
        problem(client.post("/api/v1/wasnt-me", json={"token": token}), 410, "link_not_valid")
        assert client.get(f"/accounts/wasnt-me/{token}").status_code == 410

    clock.advance(days=31)
    problem(
        client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]}),
        410,
        "link_not_valid",
    )
    assert events(ctx, "security.wasnt_me") == []


def test_the_page_form_needs_its_csrf_token(client, ctx):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    client.get(link)

    refused = client.post(link, data={"csrf_token": "x" * 43}, follow_redirects=False)

    assert refused.status_code == 403
    assert events(ctx, "security.wasnt_me") == []


@pytest.mark.both_databases
def test_a_database_dump_does_not_reveal_a_usable_link(client, ctx):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    confirm(client, link)
    mac = link.rsplit(".", 1)[1]

    with ctx.database.session() as db:
        stored = db.scalars(select(DisownedEvent.link_digest)).all()
        audit = db.execute(text("SELECT details FROM audit_events")).all()
    assert stored and mac not in stored
    assert all(mac not in str(row) for row in audit)


def test_each_alert_in_the_list_carries_its_own_link(client, clock):
    sign_up(client, email=MAIL)
    changed_password(client)
    token = log_in(client, password=NEW_PASSWORD)

    [alert] = client.get("/api/v1/me/alerts", headers=bearer(token)).json()["alerts"]

    assert alert["event"] == "password.changed"
    assert alert["wasnt_me_url"].startswith("http://localhost/accounts/wasnt-me/")
    # Nothing in it reads like a security code (base 36 numbers, a base64url MAC).
    assert not re.search(r"\d{6}", alert["wasnt_me_url"].rsplit(".", 1)[0])
    path = alert["wasnt_me_url"].removeprefix("http://localhost")
    clock.advance(days=29)
    assert client.get(path).status_code == 200
    clock.advance(days=2)
    assert client.get(path).status_code == 410


def test_a_held_session_can_log_out(client):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]})
    answer = client.post("/api/v1/login", json={"login": "hana", "password": NEW_PASSWORD})
    held = problem(answer, 403, "password_change_required")["token"]

    assert client.post("/api/v1/logout", headers=bearer(held)).status_code == 204
    problem(
        client.post(
            "/api/v1/me/password/new", headers=bearer(held), json={"new_password": "x" * 20}
        ),
        401,
        "not_authenticated",
    )


def test_a_password_set_another_way_afterwards_lifts_the_hold(client, ctx, clock):
    sign_up(client, email=MAIL)
    link = changed_password(client)
    client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]})
    clock.advance(minutes=5)
    with ctx.database.session() as db:  # e.g. a reset through account recovery
        user = db.scalar(select(User).where(User.username == "hana"))
        assert user is not None
        user.password_hash = ctx.hasher.hash("the recovered passphrase")
        user.password_changed_at = clock.now()

    assert log_in(client, password="the recovered passphrase")


def test_the_link_never_reaches_the_access_log(caplog):
    import logging

    from mamori.notifications import links
    from mamori.security import views

    assert views.router  # importing the pages installs the filter
    assert links.PATH == "/accounts/wasnt-me"
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "203.0.113.9:5000",
            "GET",
            "/accounts/wasnt-me/12.1769850000." + "ab" * 32,
            "1.1",
            200,
        )
    assert "ab" * 32 not in caplog.text
    assert "/accounts/wasnt-me/…" in caplog.text


def test_the_kept_copy_of_an_alert_has_its_link_blanked_and_the_mail_has_it(ctx):
    from mamori.notifications.delivery import deliver_pending
    from mamori.notifications.models import OutboxMessage
    from tests.core.helpers import with_settings
    from tests.notifications.fakes import smtp_server
    from tests.security.helpers import LINK

    with smtp_server() as inbox:
        production = with_settings(
            ctx, env="production", smtp_host=inbox.host, smtp_port=inbox.port, smtp_security="none"
        )
        with app_client(production) as client:
            sign_up(client, email=MAIL)
            token = log_in(client)
            changed = client.post(
                "/api/v1/me/password",
                headers=bearer(token),
                json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
            )
            assert changed.status_code == 204
            with production.database.session() as db:
                (kept,) = db.scalars(select(OutboxMessage).where(OutboxMessage.subject == CHANGED))
            # A database dump shows the alert, not a link that acts on the account.
            assert "/accounts/wasnt-me/" not in kept.body and "••••••" in kept.body
            assert kept.sealed_body and "wasnt-me" not in kept.sealed_body

            deliver_pending(production)

            (mail,) = [m for m in inbox.mails if m.message["subject"] == CHANGED]
            found = LINK.search(mail.text)
            assert found, mail.text
            with production.database.session() as db:
                sent = db.get(OutboxMessage, kept.id)
                assert sent is not None and sent.status == "sent" and sent.sealed_body is None
            assert confirm(client, found.group(1)).status_code == 200
