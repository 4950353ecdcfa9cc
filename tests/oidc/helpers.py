"""What the OpenID Connect tests share: a registered app, an Authlib OAuth 2 client
speaking to mamori, and a browser (the test client's cookie jar) walking mamori's pages."""

from __future__ import annotations

import html
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client
from fastapi.testclient import TestClient
from httpx import Response
from joserfc import jwt
from joserfc.jwk import KeySet

from mamori.audit.service import Origin
from mamori.context import Context
from mamori.oidc.clients import create_client
from tests.conftest import PASSWORD
from tests.core.helpers import csrf_from

ISSUER = "http://localhost"
REDIRECT = "https://photos.example/callback"
NATIVE_REDIRECT = "com.example.photos:/callback"
META_REFRESH = re.compile(r'<meta http-equiv="refresh" content="0;url=([^"]+)">')


@dataclass(frozen=True)
class App:
    client_id: str
    client_secret: str | None
    redirect_uri: str
    name: str


def register(
    ctx: Context,
    name: str = "Photos",
    *,
    public: bool = False,
    first_party: bool = False,
    redirect_uri: str = REDIRECT,
    backchannel_logout_uri: str | None = None,
) -> App:
    with ctx.database.session() as db:
        new = create_client(
            db,
            ctx,
            Origin.operator(),
            name=name,
            redirect_uris=[redirect_uri],
            public=public,
            first_party=first_party,
            backchannel_logout_uri=backchannel_logout_uri,
        )
        return App(new.client.client_id, new.secret, redirect_uri, name)


def oauth_client(
    http: TestClient, app: App, scope: str = "openid profile email", **extra: Any
) -> OAuth2Client:
    """Authlib's OAuth 2 client, talking to the app under test in-process."""
    return OAuth2Client(
        client_id=app.client_id,
        client_secret=app.client_secret,
        token_endpoint_auth_method="none" if app.client_secret is None else "client_secret_basic",
        redirect_uri=app.redirect_uri,
        scope=scope,
        code_challenge_method="S256",
        transport=http._transport,
        base_url=ISSUER,
        **extra,
    )


@dataclass
class Started:
    url: str
    state: str
    verifier: str
    nonce: str


def start(oauth: OAuth2Client, **params: str) -> Started:
    verifier = generate_token(48)
    nonce = generate_token(20)
    url, state = oauth.create_authorization_url(
        f"{ISSUER}/oauth/authorize", code_verifier=verifier, nonce=nonce, **params
    )
    return Started(url, state, verifier, nonce)


def location(response: Response) -> str:
    assert response.status_code in (302, 303), (response.status_code, response.text[:500])
    return str(response.headers["location"])


def to_app(browser: TestClient, response: Response, redirect_uri: str) -> str:
    """Follow mamori's own redirects until the browser is sent back to the app; the URL
    it is sent to (the app's redirect URI with the answer)."""
    for _ in range(10):
        if response.status_code in (302, 303):
            target = location(response)
            if target.startswith(redirect_uri):
                return target
            response = browser.get(target, follow_redirects=False)
            continue
        found = META_REFRESH.search(response.text)
        assert found, f"stopped on {response.url}: {response.status_code} {response.text[:800]}"
        target = html.unescape(found.group(1))
        assert target.startswith(redirect_uri), target
        return target
    raise AssertionError("too many redirects")


def answer(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


def log_in_on_page(browser: TestClient, response: Response, login: str = "hana") -> Response:
    """The browser was sent to the login page: type the password there."""
    target = location(response)
    assert urlsplit(target).path == "/login", target
    page = browser.get(target)
    next_path = parse_qs(urlsplit(target).query)["next"][0]
    return browser.post(  # type: ignore[no-any-return]
        "/login",
        data={
            "csrf_token": csrf_from(page),
            "login": login,
            "password": PASSWORD,
            "next": next_path,
        },
        follow_redirects=False,
    )


def second_step(browser: TestClient, response: Response, method: str, code: str) -> Response:
    target = location(response)
    assert urlsplit(target).path == "/login/two-factor", target
    page = browser.get(target)
    next_path = parse_qs(urlsplit(target).query).get("next", ["/"])[0]
    return browser.post(  # type: ignore[no-any-return]
        "/login/two-factor",
        data={"csrf_token": csrf_from(page), "method": method, "code": code, "next": next_path},
        follow_redirects=False,
    )


def allow(browser: TestClient, consent_page: Response, decision: str = "allow") -> Response:
    token = re.search(r'name="request" value="([^"]+)"', consent_page.text)
    assert token, consent_page.text[:800]
    return browser.post(  # type: ignore[no-any-return]
        "/oauth/authorize/continue",
        data={
            "csrf_token": csrf_from(consent_page),
            "request": token.group(1),
            "decision": decision,
        },
        follow_redirects=False,
    )


def key_set(http: TestClient) -> KeySet:
    return KeySet.import_key_set(http.get("/oauth/jwks").json())


def verified(http: TestClient, token: str, typ: str | None = None) -> dict[str, Any]:
    decoded = jwt.decode(token, key_set(http), algorithms=["ES256", "RS256"])
    if typ is not None:
        assert decoded.header["typ"] == typ
    return dict(decoded.claims)


class AppBackend:
    """A local HTTP server standing in for an app's back-channel logout endpoint: it keeps
    every logout token POSTed to it, and answers with `status` (200 unless a test says)."""

    def __init__(self) -> None:
        self.tokens: list[str] = []
        self.status = 200
        backend = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("content-length", "0"))
                form = parse_qs(self.rfile.read(length).decode())
                backend.tokens.extend(form.get("logout_token", []))
                self.send_response(backend.status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}/backchannel-logout"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> AppBackend:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.server.shutdown()
        self.server.server_close()
