"""The whole code flow with PKCE against a real `mamori serve`, as an app using Authlib's
OAuth 2 client does it over HTTP, for a confidential and a public client: the person (an
HTTP client keeping cookies, as a browser does) logs in with the password and an
authenticator code."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.conftest import PASSWORD
from tests.e2e.conftest import Server, running_server
from tests.e2e.steps import next_step_code
from tests.e2e.test_sign_in_with_mamori import mamori_cli, person_with_authenticator_app
from tests.oidc.helpers import META_REFRESH

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("oidc-serve")) as started:
        yield started


def csrf(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, page.text[:500]
    return html.unescape(found.group(1))


def log_in_through_mamori(
    server: Server, authorization_url: str, username: str, key: str, redirect_uri: str
) -> str:
    """What the person's browser does; returns the URL mamori sends it back to."""
    with httpx.Client(base_url=server.url) as browser:
        sent = browser.get(authorization_url)
        assert sent.status_code == 303
        login_page = browser.get(sent.headers["location"])
        next_path = parse_qs(urlsplit(sent.headers["location"]).query)["next"][0]
        after_password = browser.post(
            "/login",
            data={
                "csrf_token": csrf(login_page),
                "login": username,
                "password": PASSWORD,
                "next": next_path,
            },
        )
        step = browser.get(after_password.headers["location"])
        after_code = browser.post(
            "/login/two-factor",
            data={
                "csrf_token": csrf(step),
                "method": "totp",
                "code": next_step_code(key),
                "next": next_path,
            },
        )
        back = browser.get(after_code.headers["location"])
        found = META_REFRESH.search(back.text)
        assert found, back.text[:800]
        url = html.unescape(found.group(1))
        assert url.startswith(redirect_uri)
        return url


@pytest.mark.parametrize("public", [False, True], ids=["confidential", "public"])
def test_an_app_signs_a_person_in_with_two_factor_over_http(server: Server, public: bool):
    username = f"rin_{generate_token(6).lower()}"
    key = person_with_authenticator_app(server, username)
    redirect_uri = "http://127.0.0.1:8765/callback"
    registered = json.loads(
        mamori_cli(
            server,
            "clients",
            "create",
            "Notes",
            "--redirect-uri",
            redirect_uri,
            "--first-party",
            *(["--public"] if public else []),
            "--json",
        )
    )
    assert (registered["client_secret"] is None) is public
    configuration = httpx.get(f"{server.url}/.well-known/openid-configuration").json()
    assert configuration["issuer"] == server.url
    oauth = OAuth2Client(
        client_id=registered["client_id"],
        client_secret=registered["client_secret"],
        token_endpoint_auth_method="none" if public else "client_secret_post",
        redirect_uri=redirect_uri,
        scope="openid email",
        code_challenge_method="S256",
    )
    verifier, nonce = generate_token(64), generate_token(20)
    url, state = oauth.create_authorization_url(
        configuration["authorization_endpoint"], code_verifier=verifier, nonce=nonce
    )
    back = log_in_through_mamori(server, url, username, key, redirect_uri)
    answer = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    assert answer["state"] == state and answer["iss"] == server.url

    token = oauth.fetch_token(
        configuration["token_endpoint"], authorization_response=back, code_verifier=verifier
    )
    keys = KeySet.import_key_set(httpx.get(configuration["jwks_uri"]).json())
    claims = jwt.decode(token["id_token"], keys).claims
    assert claims["nonce"] == nonce and claims["aud"] == registered["client_id"]
    assert claims["amr"] == ["pwd", "otp", "mfa"]
    assert claims["email"] == f"{username}@example.com"
    userinfo = oauth.get(configuration["userinfo_endpoint"]).json()
    assert userinfo["sub"] == claims["sub"]

    refreshed = oauth.refresh_token(
        configuration["token_endpoint"], refresh_token=token["refresh_token"]
    )
    assert refreshed["refresh_token"] != token["refresh_token"]
    oauth.revoke_token(configuration["revocation_endpoint"], refreshed["refresh_token"])
    stale = httpx.post(
        configuration["token_endpoint"],
        data={
            "grant_type": "refresh_token",
            "refresh_token": refreshed["refresh_token"],
            "client_id": registered["client_id"],
            **({} if public else {"client_secret": registered["client_secret"]}),
        },
    )
    assert stale.status_code == 400 and stale.json()["error"] == "invalid_grant"
