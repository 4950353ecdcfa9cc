"""Discovery, the JWKS and signing keys: an app's JOSE library verifies mamori's ID and
access tokens against `jwks_uri`, before and after `mamori keys rotate`."""

from __future__ import annotations

import json

import pytest
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from sqlalchemy import text

from mamori.audit.service import Origin
from mamori.oidc.keys import rotate_keys
from tests.conftest import sign_up
from tests.core.helpers import app_client, events, run_cli, with_settings
from tests.oidc.helpers import (
    ISSUER,
    key_set,
    oauth_client,
    register,
    start,
    to_app,
    verified,
)
from tests.oidc.test_refusals import exchange, signed_in_code
from tests.support.helpers import write_secrets


def test_discovery_names_every_endpoint_under_the_issuer(client):
    configuration = client.get("/.well-known/openid-configuration").json()
    assert configuration["issuer"] == ISSUER
    for endpoint in (
        "authorization_endpoint",
        "token_endpoint",
        "userinfo_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "end_session_endpoint",
    ):
        assert configuration[endpoint].startswith(ISSUER + "/"), endpoint
        assert client.get(configuration[endpoint]).status_code != 404, endpoint
    assert configuration["code_challenge_methods_supported"] == ["S256"]
    assert configuration["response_types_supported"] == ["code"]
    assert configuration["grant_types_supported"] == ["authorization_code", "refresh_token"]
    assert configuration["authorization_response_iss_parameter_supported"] is True


def test_the_next_key_is_published_before_it_signs_and_the_old_one_stays_until_its_tokens_expire(
    client, ctx, clock
):
    sign_up(client, "sora", email="sora@example.com")
    client.cookies.clear()
    app = register(ctx, first_party=True)
    oauth = oauth_client(client, app)
    before = exchange(oauth, *signed_in_code(client, oauth, app))
    published = {key["kid"] for key in client.get("/oauth/jwks").json()["keys"]}
    assert len(published) == 2  # the current key and the next one

    with ctx.database.session() as db:
        now_signing = rotate_keys(db, ctx, Origin.operator())
    assert now_signing in published  # apps that cached the JWKS already hold it

    after = exchange(oauth, *signed_in_code(client, oauth, app))
    keys = key_set(client)  # one fetch after the rotation verifies both
    for tokens in (before, after):
        for name in ("id_token", "access_token"):
            assert jwt.decode(tokens[name], keys).claims["iss"] == ISSUER
    assert jwt.decode(after["id_token"], keys).header["kid"] == now_signing
    assert verified(client, before["access_token"], typ="at+jwt")

    clock.advance(minutes=11)  # every token the old key signed has expired
    old_kid = jwt.decode(before["id_token"], keys).header["kid"]
    assert old_kid not in {key["kid"] for key in client.get("/oauth/jwks").json()["keys"]}
    with pytest.raises(InvalidKeyIdError):
        jwt.decode(before["id_token"], key_set(client))


def test_mamori_keys_rotate_from_the_command_line(client, ctx):
    write_secrets(ctx)
    published = {key["kid"] for key in client.get("/oauth/jwks").json()["keys"]}
    result = run_cli(ctx, "keys", "rotate")
    assert result.exit_code == 0, result.output
    assert result.output.split()[-1] in published
    assert len(client.get("/oauth/jwks").json()["keys"]) == 3
    assert events(ctx, "oidc.keys_rotated")


def test_private_keys_are_sealed_and_the_jwks_shows_only_public_halves(client, ctx):
    jwks = client.get("/oauth/jwks").json()
    assert all("d" not in key and key["alg"] == "ES256" for key in jwks["keys"])
    with ctx.database.session() as db:
        rows = db.execute(text("SELECT * FROM oidc_signing_keys")).all()
    dump = json.dumps([list(map(str, row)) for row in rows])
    assert len(rows) == 2 and "PRIVATE KEY" not in dump and "BEGIN" not in dump


def test_rs256_keys_when_the_operator_chooses_them(ctx):
    rsa = with_settings(ctx, oidc_signing_alg="RS256")
    with app_client(rsa) as http:
        keys = http.get("/oauth/jwks").json()["keys"]
        sign_up(http, "sora")
        http.cookies.clear()
        app = register(rsa, first_party=True)
        oauth = oauth_client(http, app)
        started = start(oauth)
        from tests.oidc.helpers import log_in_on_page

        back = to_app(
            http,
            log_in_on_page(http, http.get(started.url, follow_redirects=False), "sora"),
            app.redirect_uri,
        )
        tokens = exchange(oauth, started, back)
    assert {key["kty"] for key in keys} == {"RSA"}
    assert jwt.decode(tokens["id_token"], key_set(http)).header["alg"] == "RS256"


def test_a_single_page_app_may_call_the_app_endpoints_from_its_own_origin(client):
    origin = {"origin": "https://spa.example"}
    preflight = client.options(
        "/oauth/userinfo",
        headers={
            **origin,
            "access-control-request-method": "GET",
            "access-control-request-headers": "authorization",
        },
    )
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]
    refused = client.post("/oauth/token", data={"grant_type": "x"}, headers=origin)
    assert refused.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in refused.headers
    assert client.get("/oauth/jwks", headers=origin).headers["access-control-allow-origin"] == "*"
    # mamori's own pages stay closed to other origins.
    assert "access-control-allow-origin" not in client.get("/login", headers=origin).headers
