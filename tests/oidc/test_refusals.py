"""Every request the provider must refuse, as an app (Authlib's OAuth 2 client) or a
person sees the refusal, and what the refusal leaves behind."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from authlib.integrations.base_client.errors import OAuthError as ClientError
from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import text

from mamori.oidc.models import OidcToken
from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import (
    app_client,
    csrf_from,
    events,
    run_cli,
    shown,
    web_log_in,
    with_settings,
)
from tests.oidc.helpers import (
    ISSUER,
    App,
    Started,
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
from tests.support.helpers import write_secrets
from tests.two_factor.helpers import app_code, user_with_app

TOKEN_URL = f"{ISSUER}/oauth/token"


@pytest.fixture
def sora(client):
    sign_up(client, "sora", email="sora@example.com")
    client.cookies.clear()


def signed_in_code(
    client: TestClient, oauth: OAuth2Client, app: App, **params: str
) -> tuple[Started, str]:
    """sora logs in on the page (first time) or is logged in already; the app's answer."""
    started = start(oauth, **params)
    response = client.get(started.url, follow_redirects=False)
    if response.status_code == 303 and "/login?" in location(response):
        response = log_in_on_page(client, response, login="sora")
    return started, to_app(client, response, oauth.redirect_uri)


def exchange(oauth: OAuth2Client, started: Started, back: str) -> dict[str, Any]:
    tokens: dict[str, Any] = oauth.fetch_token(
        TOKEN_URL, authorization_response=back, code_verifier=started.verifier
    )
    return tokens


def raw_token_request(client: TestClient, app: App, **fields: str) -> Response:
    data = {"client_id": app.client_id, **fields}
    if app.client_secret:
        data["client_secret"] = app.client_secret
    answered: Response = client.post("/oauth/token", data=data)
    return answered


def test_a_redirect_uri_the_app_did_not_register_is_told_to_the_person_not_followed(client, ctx):
    app = register(ctx)
    oauth = oauth_client(client, app)
    oauth.redirect_uri = "https://attacker.example/callback"
    page = client.get(start(oauth).url, follow_redirects=False)
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "has not registered" in page.text


def test_an_unknown_or_disabled_app_is_told_to_the_person(client, ctx):
    app = register(ctx)
    write_secrets(ctx)
    assert run_cli(ctx, "clients", "disable", app.client_id).exit_code == 0
    page = client.get(start(oauth_client(client, app)).url, follow_redirects=False)
    assert page.status_code == 400 and "not registered with mamori" in page.text
    refused = raw_token_request(client, app, grant_type="authorization_code", code="x")
    assert refused.status_code == 401 and refused.json()["error"] == "invalid_client"


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"response_type": None}, "invalid_request"),
        ({"scope": "profile"}, "invalid_scope"),
    ],
)
def test_a_request_without_s256_pkce_or_openid_goes_back_to_the_app_as_an_error(
    client, ctx, change, error
):
    app = register(ctx)
    started = start(oauth_client(client, app), state="s-1")
    query = dict(parse_qsl(urlsplit(started.url).query))
    for name, value in change.items():
        if value is None:
            query.pop(name, None)
        else:
            query[name] = value
    response = client.get("/oauth/authorize?" + urlencode(query), follow_redirects=False)
    target = location(response)
    assert target.startswith(app.redirect_uri)
    assert answer(target) | {"error_description": ""} == {
        "error": error,
        "error_description": "",
        "state": "s-1",
        "iss": ISSUER,
    }


def test_a_parameter_sent_twice_is_refused(client, ctx):
    app = register(ctx)
    started = start(oauth_client(client, app), state="s-2")
    target = location(client.get(started.url + "&scope=openid", follow_redirects=False))
    assert answer(target)["error"] == "invalid_request" and answer(target)["state"] == "s-2"


def test_a_wrong_or_missing_code_verifier_is_refused(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started, back = signed_in_code(client, oauth, app)
    code = answer(back)["code"]
    for verifier in ("x" * 43, ""):
        refused = raw_token_request(
            client,
            app,
            grant_type="authorization_code",
            code=code,
            redirect_uri=app.redirect_uri,
            code_verifier=verifier,
        )
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"
    # The refusals did not spend the code: the app holding the verifier still gets tokens.
    assert exchange(oauth, started, back)["access_token"]


def test_a_reused_code_is_refused_and_revokes_what_it_gave(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started, back = signed_in_code(client, oauth, app)
    first = exchange(oauth, started, back)
    with pytest.raises(ClientError) as again:
        exchange(oauth, started, back)
    assert again.value.error == "invalid_grant"

    assert (
        client.get(
            "/oauth/userinfo", headers={"authorization": f"Bearer {first['access_token']}"}
        ).status_code
        == 401
    )
    introspected = client.post(
        "/oauth/introspect",
        data={"token": first["refresh_token"]},
        auth=(app.client_id, app.client_secret),
    )
    assert introspected.json() == {"active": False}
    with pytest.raises(ClientError):
        oauth.refresh_token(TOKEN_URL, refresh_token=first["refresh_token"])
    assert events(ctx, "oidc.code_reused")[0].details["revoked"] == 2


def test_an_expired_code_is_refused(client, ctx, clock, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started, back = signed_in_code(client, oauth, app)
    clock.advance(seconds=61)
    with pytest.raises(ClientError) as refused:
        exchange(oauth, started, back)
    assert refused.value.error == "invalid_grant"


def test_a_wrong_client_secret_is_refused_in_either_form(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started, back = signed_in_code(client, oauth, app)
    fields = {
        "grant_type": "authorization_code",
        "code": answer(back)["code"],
        "redirect_uri": app.redirect_uri,
        "code_verifier": started.verifier,
    }
    basic = client.post("/oauth/token", data=fields, auth=(app.client_id, "wrong"))
    assert basic.status_code == 401 and basic.json()["error"] == "invalid_client"
    assert basic.headers["www-authenticate"] == "Basic"
    posted = client.post(
        "/oauth/token", data={**fields, "client_id": app.client_id, "client_secret": "wrong"}
    )
    assert posted.status_code == 401
    right = client.post("/oauth/token", data=fields, auth=(app.client_id, app.client_secret))
    assert right.status_code == 200 and right.headers["cache-control"] == "no-store"


def test_a_reused_refresh_token_revokes_the_family_and_tells_the_person(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started, back = signed_in_code(client, oauth, app)
    first = exchange(oauth, started, back)
    second = oauth.refresh_token(TOKEN_URL, refresh_token=first["refresh_token"])
    with pytest.raises(ClientError) as reused:
        oauth.refresh_token(TOKEN_URL, refresh_token=first["refresh_token"])
    assert reused.value.error == "invalid_grant"
    # The newest refresh token, held by whoever rotated it, is dead too.
    with pytest.raises(ClientError):
        oauth.refresh_token(TOKEN_URL, refresh_token=second["refresh_token"])
    subjects = [m["subject"] for m in client.get("/dev/outbox").json()]
    assert "An app's sign-in was used twice" in subjects
    assert events(ctx, "oidc.refresh_token_reused")


def test_prompt_none_without_a_session_answers_login_required(client, ctx):
    app = register(ctx, first_party=True)
    started = start(oauth_client(client, app), prompt="none")
    target = location(client.get(started.url, follow_redirects=False))
    assert answer(target)["error"] == "login_required"
    assert answer(target)["state"] == started.state


def test_prompt_none_for_an_app_not_yet_allowed_answers_consent_required(client, ctx, sora):
    first_party = register(ctx, "Home", first_party=True)
    signed_in_code(client, oauth_client(client, first_party), first_party)
    third_party = register(ctx, "Photos")
    started = start(oauth_client(client, third_party), prompt="none")
    target = location(client.get(started.url, follow_redirects=False))
    assert answer(target)["error"] == "consent_required"


def test_cancel_on_the_consent_page_answers_access_denied(client, ctx, sora):
    app = register(ctx)
    started = start(oauth_client(client, app))
    consent_path = location(
        log_in_on_page(client, client.get(started.url, follow_redirects=False), login="sora")
    )
    back = to_app(client, allow(client, client.get(consent_path), "cancel"), app.redirect_uri)
    assert answer(back)["error"] == "access_denied"
    assert answer(back)["state"] == started.state


def test_max_age_0_makes_the_person_log_in_again(client, ctx, clock, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    signed_in_code(client, oauth, app)
    clock.advance(minutes=5)
    started = start(oauth, max_age="0")
    page = client.get(started.url, follow_redirects=False)
    assert page.status_code == 200 and "asks you to prove it's you again" in shown(page)
    request_token = re.search(r'name="request" value="([^"]+)"', page.text)
    assert request_token
    to_login = client.post(
        "/oauth/authorize/log-in-again",
        data={"csrf_token": csrf_from(page), "request": request_token.group(1)},
        follow_redirects=False,
    )
    back = to_app(client, log_in_on_page(client, to_login, login="sora"), app.redirect_uri)
    tokens = exchange(oauth, started, back)
    assert verified(client, tokens["id_token"])["auth_time"] == int(clock.now().timestamp())
    assert events(ctx, "session.ended")  # the old session ended; a new login made this one


def test_prompt_none_with_max_age_0_answers_login_required(client, ctx, clock, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    signed_in_code(client, oauth, app)
    clock.advance(seconds=1)
    started = start(oauth, max_age="0", prompt="none")
    assert answer(location(client.get(started.url, follow_redirects=False)))["error"] == (
        "login_required"
    )


def test_an_app_asking_for_two_factor_of_an_account_without_it_is_told_so(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started = start(oauth, acr_values="urn:mamori:acr:two-factor")
    response = log_in_on_page(client, client.get(started.url, follow_redirects=False), "sora")
    back = to_app(client, response, app.redirect_uri)
    assert answer(back)["error"] == "unmet_authentication_requirements"


def test_a_native_app_on_a_loopback_address_may_use_any_port(client, ctx, sora):
    app = register(ctx, public=True, first_party=True, redirect_uri="http://127.0.0.1/callback")
    oauth = oauth_client(client, app)
    oauth.redirect_uri = "http://127.0.0.1:53187/callback"
    started, back = signed_in_code(client, oauth, app)
    assert back.startswith("http://127.0.0.1:53187/callback?")
    assert exchange(oauth, started, back)["id_token"]


def test_the_token_endpoint_is_throttled_per_app(ctx, sora):
    limited = with_settings(ctx, oidc_token_requests_per_client_minute=3)
    app = register(limited)
    with app_client(limited) as http:
        answers = [
            raw_token_request(http, app, grant_type="authorization_code", code="x").status_code
            for _ in range(5)
        ]
    assert answers[:3] == [400, 400, 400]
    assert answers[3] == 429


@pytest.mark.both_databases
def test_of_two_exchanges_of_one_code_at_once_one_gets_tokens(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started, back = signed_in_code(client, oauth, app)
    fields = {
        "grant_type": "authorization_code",
        "code": answer(back)["code"],
        "redirect_uri": app.redirect_uri,
        "code_verifier": started.verifier,
    }

    def one(_: int) -> int:
        answered = client.post("/oauth/token", data=fields, auth=(app.client_id, app.client_secret))
        return int(answered.status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(8)))
    assert statuses.count(200) == 1
    with ctx.database.session() as db:
        live = db.query(OidcToken).filter(OidcToken.revoked_at.is_(None)).count()
    assert live == 0  # the reuse revoked what the one success gave


def test_prompt_login_asks_for_a_fresh_login_even_right_after_one(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    signed_in_code(client, oauth, app)
    page = client.get(start(oauth, prompt="login").url, follow_redirects=False)
    assert page.status_code == 200 and "asks you to prove it's you again" in shown(page)


def test_an_app_asking_for_two_factor_sends_a_password_only_session_to_log_in_again(
    client, ctx, clock
):
    _, secret, _ = user_with_app(client, clock)
    client.cookies.clear()
    logged_in = web_log_in(client, "hana", PASSWORD)
    second_step(client, logged_in, "totp", app_code(secret, clock))
    clock.advance(seconds=30)
    # As if this session was logged in with the password before two-factor was turned on.
    with ctx.database.session() as db:
        db.execute(text("UPDATE login_sessions SET amr = 'pwd'"))
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    started = start(oauth, acr_values="urn:mamori:acr:two-factor")
    page = client.get(started.url, follow_redirects=False)
    assert "asks you to prove it's you again" in shown(page)
    request_token = re.search(r'name="request" value="([^"]+)"', page.text)
    assert request_token
    to_login = client.post(
        "/oauth/authorize/log-in-again",
        data={"csrf_token": csrf_from(page), "request": request_token.group(1)},
        follow_redirects=False,
    )
    after_password = log_in_on_page(client, to_login, login="hana")
    after_code = second_step(client, after_password, "totp", app_code(secret, clock))
    back = to_app(client, after_code, app.redirect_uri)
    claims = verified(client, exchange(oauth, started, back)["id_token"])
    assert claims["acr"] == "urn:mamori:acr:two-factor"


@pytest.mark.both_databases
def test_of_refreshes_sent_at_once_one_gets_tokens_and_the_reuse_ends_the_family(client, ctx, sora):
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    tokens = exchange(oauth, *signed_in_code(client, oauth, app))
    fields = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}

    def one(_: int) -> int:
        answered = client.post("/oauth/token", data=fields, auth=(app.client_id, app.client_secret))
        return int(answered.status_code)

    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(one, range(8)))
    assert statuses.count(200) == 1 and statuses.count(400) == 7
    with ctx.database.session() as db:
        live = db.query(OidcToken).filter(OidcToken.revoked_at.is_(None)).count()
    assert live == 0
