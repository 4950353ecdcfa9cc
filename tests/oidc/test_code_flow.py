"""The authorization code flow with PKCE, as an app using Authlib's OAuth 2 client sees
it: a person logs in on mamori's pages (password, then the authenticator app), allows a
third-party app, and the app gets an ID token, a JWT access token and a refresh token."""

from __future__ import annotations

import html
import re

import pytest

from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import events
from tests.oidc.helpers import (
    ISSUER,
    NATIVE_REDIRECT,
    allow,
    answer,
    log_in_on_page,
    oauth_client,
    register,
    second_step,
    start,
    to_app,
    verified,
)
from tests.two_factor.helpers import app_code, user_with_app


@pytest.fixture
def hana(client, clock):
    _, secret, codes = user_with_app(client, clock)
    client.cookies.clear()
    return secret, codes


def test_a_confidential_app_signs_a_person_in_with_two_factor(client, ctx, clock, hana):
    secret, _ = hana
    app = register(ctx)
    oauth = oauth_client(client, app)
    started = start(oauth)

    sent = client.get(started.url, follow_redirects=False)
    after_password = log_in_on_page(client, sent)
    after_code = second_step(client, after_password, "totp", app_code(secret, clock))
    consent = client.get(after_code.headers["location"])
    assert "Allow Photos to use your mamori account?" in consent.text
    assert "Your e-mail address" in consent.text
    back = to_app(client, allow(client, consent), app.redirect_uri)

    returned = answer(back)
    assert returned["state"] == started.state and returned["iss"] == ISSUER
    token = oauth.fetch_token(
        f"{ISSUER}/oauth/token", authorization_response=back, code_verifier=started.verifier
    )
    id_claims = verified(client, token["id_token"])
    assert id_claims["iss"] == ISSUER and id_claims["aud"] == app.client_id
    assert id_claims["nonce"] == started.nonce
    assert id_claims["amr"] == ["pwd", "otp", "mfa"]
    assert id_claims["acr"] == "urn:mamori:acr:two-factor"
    assert id_claims["email"] == "hana@example.com" and id_claims["preferred_username"] == "hana"
    assert {"sub", "exp", "iat", "auth_time", "sid"} <= set(id_claims)
    assert not id_claims["sub"].isdigit()

    access = verified(client, token["access_token"], typ="at+jwt")
    assert access["client_id"] == app.client_id and access["sub"] == id_claims["sub"]
    assert access["exp"] - access["iat"] == 5 * 60
    assert access["scope"] == "openid profile email"

    me = oauth.get(f"{ISSUER}/oauth/userinfo")
    assert me.status_code == 200
    assert me.json() == {
        "sub": id_claims["sub"],
        "preferred_username": "hana",
        "locale": "en",
        "zoneinfo": "UTC",
        "email": "hana@example.com",
        "email_verified": False,
    }


def test_a_public_app_signs_in_with_pkce_and_no_secret(client, ctx, clock, hana):
    secret, _ = hana
    app = register(ctx, "Phone", public=True, redirect_uri=NATIVE_REDIRECT)
    oauth = oauth_client(client, app, scope="openid")
    started = start(oauth)
    after_password = log_in_on_page(client, client.get(started.url, follow_redirects=False))
    after_code = second_step(client, after_password, "totp", app_code(secret, clock))
    consent = client.get(after_code.headers["location"])
    back = to_app(client, allow(client, consent), NATIVE_REDIRECT)
    token = oauth.fetch_token(
        f"{ISSUER}/oauth/token", authorization_response=back, code_verifier=started.verifier
    )
    assert verified(client, token["id_token"])["amr"] == ["pwd", "otp", "mfa"]

    refreshed = oauth.refresh_token(f"{ISSUER}/oauth/token", refresh_token=token["refresh_token"])
    assert refreshed["refresh_token"] != token["refresh_token"]
    assert (
        verified(client, refreshed["access_token"])["sub"]
        == verified(client, token["access_token"])["sub"]
    )
    # The grant, the tokens and the refresh are each in the audit trail, for this app,
    # without a token in it.
    trail = {e.event: e for e in events(ctx) if e.event.startswith("oidc.")}
    for name in ("oidc.authorized", "oidc.tokens_issued", "oidc.tokens_refreshed"):
        assert trail[name].details["client"] == app.client_id, name
    written = " ".join(str(e.details) for e in trail.values())
    assert token["refresh_token"] not in written and refreshed["refresh_token"] not in written


def test_a_backup_code_counts_as_a_one_time_password(client, ctx, clock, hana):
    _, codes = hana
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app, scope="openid")
    started = start(oauth)
    after_password = log_in_on_page(client, client.get(started.url, follow_redirects=False))
    after_code = second_step(client, after_password, "backup_code", codes[0])
    codes_left = client.get(after_code.headers["location"])
    assert "9 backup codes left" in codes_left.text
    onward = re.search(r'href="(/oauth/authorize/continue[^"]+)"', codes_left.text)
    assert onward, codes_left.text
    going_on = client.get(html.unescape(onward.group(1)), follow_redirects=False)
    back = to_app(client, going_on, app.redirect_uri)
    token = oauth.fetch_token(
        f"{ISSUER}/oauth/token", authorization_response=back, code_verifier=started.verifier
    )
    assert verified(client, token["id_token"])["amr"] == ["pwd", "otp", "mfa"]


def test_a_person_already_logged_in_goes_straight_back_to_a_first_party_app(client, ctx):
    sign_up(client, "sora", email="sora@example.com")
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    log_in_on_page(client, client.get(start(oauth).url, follow_redirects=False), login="sora")
    started = start(oauth)
    back = to_app(client, client.get(started.url, follow_redirects=False), app.redirect_uri)
    token = oauth.fetch_token(
        f"{ISSUER}/oauth/token", authorization_response=back, code_verifier=started.verifier
    )
    claims = verified(client, token["id_token"])
    assert claims["amr"] == ["pwd"] and claims["acr"] == "urn:mamori:acr:password"
    assert PASSWORD not in back


def test_the_consent_page_speaks_the_persons_language(client, ctx):
    sign_up(client, "sora", email="sora@example.com")
    app = register(ctx, "写真")
    client.headers["accept-language"] = "ja"
    sent = client.get(start(oauth_client(client, app)).url, follow_redirects=False)
    consent = client.get(log_in_on_page(client, sent, login="sora").headers["location"])
    text = html.unescape(consent.text)
    assert "写真にmamoriアカウントの利用を許可しますか？" in text
    assert "メールアドレス" in text
    assert ">許可する<" in text and ">キャンセル<" in text
