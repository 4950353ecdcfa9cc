"""Ways into an app's sign-in besides a plain link: a request the app POSTs (OpenID Connect
Core §3.1.2.1), and "Can't log in?" on the way, which leads through recovery and back."""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qsl, urlsplit

from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import shown, submit, web_log_in
from tests.oidc.helpers import (
    ISSUER,
    allow,
    answer,
    location,
    log_in_on_page,
    oauth_client,
    register,
    second_step,
    start,
    to_app,
    verified,
)
from tests.recovery.helpers import NEW_PASSWORD, confirm_addresses, last_code_sent_to
from tests.two_factor.helpers import app_code, user_with_app


def post_the_request(client, url: str):
    """What an app's auto-submitting form does: the same parameters, as a POST body."""
    parts = urlsplit(url)
    return client.post(parts.path, data=dict(parse_qsl(parts.query)), follow_redirects=False)


def test_a_posted_request_signs_the_person_in_like_a_link(client, ctx):
    sign_up(client, "sora", email="sora@example.com")
    client.cookies.clear()
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started = start(oauth)

    posted = post_the_request(client, started.url)
    assert posted.status_code == 303
    again = client.get(location(posted), follow_redirects=False)
    back = to_app(client, log_in_on_page(client, again, login="sora"), app.redirect_uri)

    assert answer(back)["state"] == started.state
    token = oauth.fetch_token(
        f"{ISSUER}/oauth/token", authorization_response=back, code_verifier=started.verifier
    )
    assert verified(client, token["id_token"])["nonce"] == started.nonce


def test_a_posted_prompt_none_sees_the_person_already_logged_in(client, ctx):
    sign_up(client, "sora", email="sora@example.com")
    web_log_in(client, "sora", PASSWORD)
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started = start(oauth, prompt="none")

    posted = post_the_request(client, started.url)
    back = to_app(client, client.get(location(posted), follow_redirects=False), app.redirect_uri)

    assert "code" in answer(back) and "error" not in answer(back)


def test_a_posted_request_from_an_unknown_app_is_told_to_the_person(client, ctx):
    posted = client.post(
        "/oauth/authorize",
        data={"client_id": "nobody", "redirect_uri": "https://evil.example/cb"},
        headers={"accept": "text/html"},
        follow_redirects=True,
    )
    assert posted.status_code == 400
    assert "This app is not registered with mamori" in shown(posted)
    assert urlsplit(str(posted.url)).path == "/oauth/authorize"  # never sent to evil.example


def test_a_posted_request_too_long_for_a_link_is_refused_with_a_page(client):
    posted = client.post(
        "/oauth/authorize",
        data={"client_id": "x", "state": "s" * 9000},
        headers={"accept": "text/html"},
        follow_redirects=False,
    )
    assert posted.status_code == 422
    assert "This sign-in request is too long" in shown(posted)


def test_cant_log_in_on_the_way_to_an_app_leads_through_recovery_and_back(client, ctx, clock):
    """The phone is lost on the way into an app: "Can't log in?", an e-mail code and a
    backup code, a new password, and the same sign-in goes on to the app, two-factor kept."""
    secret, codes = user_with_app(client, clock)[1:]
    confirm_addresses(ctx, "hana")
    client.cookies.clear()
    app = register(ctx)
    oauth = oauth_client(client, app)
    started = start(oauth)

    login_page = client.get(location(client.get(started.url, follow_redirects=False)))
    cant = re.search(r'href="(/recovery\?next=[^"]+)"', login_page.text)
    assert cant, "the login page's 'Can't log in?' forgets the app"
    recovery = client.get(html.unescape(cant.group(1)))
    form = recovery.text[recovery.text.index('action="/recovery"') :]
    going_back_to = re.search(r'name="next" value="([^"]+)"', form)
    assert going_back_to and going_back_to.group(1).startswith("/oauth/authorize/continue?")

    recovery_page = html.unescape(cant.group(1))
    going_back = html.unescape(going_back_to.group(1))
    submit(client, recovery_page, "/recovery", login="hana", next=going_back)
    submit(client, "/recovery/options", "/recovery/send", option="email")
    email_code = last_code_sent_to(client, "hana@example.com")
    submit(client, "/recovery/code", "/recovery/code", option="email", code=email_code)
    more = "/recovery/more?way=backup_code"
    submit(client, more, "/recovery/second-factor", method="backup_code", code=codes[0])
    submit(client, "/recovery/new-password", "/recovery/new-password", new_password=NEW_PASSWORD)
    done = client.get("/recovery/done")

    assert "Log in with your new password to go back to where you were" in shown(done)
    log_in = re.search(r'href="(/login\?next=[^"]+)"', done.text)
    assert log_in and "oauth" in html.unescape(log_in.group(1))
    login_path = html.unescape(log_in.group(1))
    login_again = client.get(login_path)
    login_form = login_again.text[login_again.text.index('action="/login"') :]
    next_path = re.search(r'name="next" value="([^"]+)"', login_form)
    assert next_path
    after_password = submit(
        client,
        login_path,
        "/login",
        login="hana",
        password=NEW_PASSWORD,
        next=html.unescape(next_path.group(1)),
    )
    after_code = second_step(client, after_password, "totp", app_code(secret, clock))
    consent = client.get(location(after_code))
    assert "Allow Photos to use your mamori account?" in shown(consent)
    back = to_app(client, allow(client, consent), app.redirect_uri)

    assert answer(back)["state"] == started.state
    token = oauth.fetch_token(
        f"{ISSUER}/oauth/token", authorization_response=back, code_verifier=started.verifier
    )
    assert verified(client, token["id_token"])["amr"] == ["pwd", "otp", "mfa"]


def test_a_recovery_started_on_its_own_ends_at_the_security_review(client, ctx, clock):
    """An earlier app's place is not carried into a later recovery started from scratch."""
    sign_up(client, "sora", email="sora@example.com")
    confirm_addresses(ctx, "sora")
    client.cookies.clear()

    start_from_an_app = "/recovery?next=/oauth/authorize/continue%3Frequest%3Dold"
    app_place = "/oauth/authorize/continue?request=old"
    submit(client, start_from_an_app, "/recovery", login="sora", next=app_place)
    assert (client.cookies.get("mamori_recovery_return") or "").strip('"') == app_place
    submit(client, "/recovery", "/recovery", login="sora")
    submit(client, "/recovery/options", "/recovery/send", option="email")
    code = last_code_sent_to(client, "sora@example.com")
    submit(client, "/recovery/code", "/recovery/code", option="email", code=code)
    submit(client, "/recovery/new-password", "/recovery/new-password", new_password=NEW_PASSWORD)
    done = client.get("/recovery/done")

    assert "/login?next=/accounts/center/security-review" in done.text
    assert "oauth" not in done.text
