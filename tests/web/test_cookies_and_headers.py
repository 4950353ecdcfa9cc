"""What the browser is told: cookie flags, and the headers that keep pages safe."""

from __future__ import annotations

import re
from http.cookies import SimpleCookie

from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import app_client, csrf_from, with_settings

PAGES = ["/login", "/signup"]
LOGGED_IN_PAGES = [
    "/accounts/center",
    "/accounts/center/password-and-security",
    "/accounts/center/password-and-security/password",
    "/accounts/center/password-and-security/sessions",
    "/reauthenticate",
]


def set_cookies(response) -> dict[str, dict[str, str | bool]]:
    """Each Set-Cookie header by cookie name, with its attributes."""
    found: dict[str, dict[str, str | bool]] = {}
    for header in response.headers.get_list("set-cookie"):
        parsed = SimpleCookie()
        parsed.load(header)
        for name, morsel in parsed.items():
            attributes: dict[str, str | bool] = {
                key: value for key, value in morsel.items() if value
            }
            attributes["value"] = morsel.value
            found[name] = attributes
    return found


def log_in_on_the_page(client) -> dict[str, dict[str, str | bool]]:
    page = client.get("/login")
    response = client.post(
        "/login",
        data={"login": "hana", "password": PASSWORD, "csrf_token": csrf_from(page)},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    return {**set_cookies(page), **set_cookies(response)}


def test_on_plain_http_localhost_cookies_are_httponly_and_lax(client):
    sign_up(client)

    cookies = log_in_on_the_page(client)

    for name in ("mamori_session", "mamori_csrf"):
        cookie = cookies[name]
        assert cookie["httponly"] is True
        assert str(cookie["samesite"]).lower() == "lax"
        assert cookie["path"] == "/"
        assert "secure" not in cookie  # development on http://localhost cannot use Secure


def test_on_a_real_host_cookies_are_secure_with_the_host_prefix(ctx):
    with app_client(ctx, base_url="https://mamori.example") as browser:
        sign_up(browser)
        cookies = log_in_on_the_page(browser)

        for name in ("__Host-mamori_session", "__Host-mamori_csrf"):
            cookie = cookies[name]
            assert cookie["secure"] is True
            assert cookie["httponly"] is True
            assert str(cookie["samesite"]).lower() == "lax"
            assert cookie["path"] == "/"
            assert "domain" not in cookie  # __Host- forbids it
        assert "mamori_session" not in cookies
        assert browser.get("/accounts/center", follow_redirects=False).status_code == 200


def test_the_session_cookie_lasts_as_long_as_the_session_may(client, ctx):
    """Closing the browser does not log a person out; the server still ends idle sessions."""
    sign_up(client)

    cookie = log_in_on_the_page(client)["mamori_session"]

    assert int(str(cookie["max-age"])) == ctx.settings.session_absolute_minutes * 60


def test_the_language_cookie_is_secure_on_a_real_host(ctx):
    with app_client(ctx, base_url="https://mamori.example") as browser:
        page = browser.get("/login")
        response = browser.post(
            "/language",
            data={"csrf_token": csrf_from(page), "lang": "ja", "next": "/login"},
            follow_redirects=False,
        )

    assert set_cookies(response)["mamori_lang"]["secure"] is True


def test_behind_a_tls_proxy_mamori_sees_http_and_still_marks_cookies_secure(ctx):
    with app_client(ctx, base_url="http://mamori.example") as browser:
        cookies = set_cookies(browser.get("/login"))

    assert cookies["__Host-mamori_csrf"]["secure"] is True


def test_a_session_cookie_without_the_host_prefix_is_not_accepted_on_a_real_host(ctx):
    """A sibling subdomain can plant `mamori_session`, never `__Host-mamori_session`."""
    with app_client(ctx, base_url="https://mamori.example") as browser:
        sign_up(browser)
        token = log_in_on_the_page(browser)["__Host-mamori_session"]["value"]
        browser.cookies.clear()
        browser.cookies.set("mamori_session", str(token))

        response = browser.get("/accounts/center", follow_redirects=False)

    assert response.status_code == 303


def test_hsts_is_sent_when_mamori_is_served_over_https(ctx):
    with app_client(with_settings(ctx, base_url="https://mamori.example")) as browser:
        response = browser.get("/login")

    assert response.headers["strict-transport-security"].startswith("max-age=")


def security_headers_hold(response) -> None:
    csp = response.headers["content-security-policy"]
    directives = {part.split()[0]: part.split()[1:] for part in csp.split(";") if part.strip()}
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp
    assert "'unsafe-eval'" not in csp
    assert directives["object-src"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] in ("same-origin", "no-referrer")


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.I)
EVENT_HANDLER = re.compile(r"<[^>]+\son[a-z]+\s*=", re.I)
INLINE_STYLE = re.compile(r"<style\b|\sstyle\s*=", re.I)


def page_obeys_its_csp(page) -> None:
    assert not INLINE_SCRIPT.search(page.text), "inline <script> would be blocked by the CSP"
    assert not EVENT_HANDLER.search(page.text), "onclick= & co. would be blocked by the CSP"
    assert "javascript:" not in page.text.lower()
    assert not INLINE_STYLE.search(page.text), "inline styles would be blocked by the CSP"
    for src in re.findall(r'<(?:script|link|img)[^>]+(?:src|href)="([^"]+)"', page.text):
        assert src.startswith("/") and not src.startswith("//"), f"{src}: not served by mamori"


def test_every_page_sends_the_security_headers_and_has_no_inline_script(client):
    sign_up(client)
    for path in PAGES:
        page = client.get(path)
        security_headers_hold(page)
        page_obeys_its_csp(page)
        assert page.headers["cache-control"] == "no-store"
    log_in_on_the_page(client)
    for path in LOGGED_IN_PAGES:
        page = client.get(path)
        assert page.status_code == 200, path
        security_headers_hold(page)
        page_obeys_its_csp(page)
        assert page.headers["cache-control"] == "no-store"


def test_the_api_docs_page_works_offline_under_the_same_csp(client):
    page = client.get("/docs")

    assert page.status_code == 200
    security_headers_hold(page)
    page_obeys_its_csp(page)
    for asset in re.findall(r'(?:src|href)="(/[^"]+)"', page.text):
        assert client.get(asset).status_code == 200, asset


def test_api_answers_carry_the_headers_and_are_never_cached(client):
    for response in (
        client.post("/api/v1/login", json={"login": "x", "password": "y"}),
        client.get("/api/v1/me"),
        client.get("/healthz"),
    ):
        security_headers_hold(response)
    assert client.get("/api/v1/me").headers["cache-control"] == "no-store"


def test_static_files_are_served_by_mamori(client):
    for path in ("/static/mamori.css", "/static/mamori.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert response.headers["x-content-type-options"] == "nosniff"


def test_healthz(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_unknown_paths_and_methods_are_problem_json(client):
    missing = client.get("/no/such/page")
    wrong_method = client.get("/api/v1/login")

    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert wrong_method.status_code == 405
    assert wrong_method.json()["code"] == "method_not_allowed"
    assert wrong_method.headers["content-type"].startswith("application/problem+json")
