"""Hostile input at every entry point: a clear 4xx, never a 500, never a half-stored record.

The JSON API is walked from /openapi.json and the HTML forms from the app's routes, so a
route added later is attacked too. PostgreSQL matters here: it refuses NUL bytes in text.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, unquote

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from mamori.accounts.models import User
from mamori.context import Context
from mamori.sessions.models import LoginSession
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import (
    app_client,
    count,
    csrf_from,
    problem,
    routes,
    web_log_in,
    with_settings,
)

pytestmark = pytest.mark.both_databases

TEN_MB = 10 * 1024 * 1024
HOSTILE_STRINGS = [
    "\x00",
    "hana\x00",
    "x" * 10_000,
    "<script>alert(1)</script>",
    "' OR '1'='1' --",
    '"; DROP TABLE users; --',
    "😀👨‍👩‍👧‍👦",
    "\u202egnp.exe",  # right-to-left override
    "e\u0301\u0302\u0303\u0304",  # stacked combining marks
    "\ud800",  # a lone surrogate: valid JSON, not encodable text
    "",
    "   ",
    "%00%27",
    "{{7*7}}",
]
# Forms and URLs carry bytes: the surrogate becomes what a hostile client would send instead.
RAW_BYTES = ["%ED%A0%80", "%FF%FE", "%C0%AF"]  # a UTF-16 surrogate, invalid UTF-8, overlong "/"
FORM_HOSTILE = [quote(v) for v in HOSTILE_STRINGS if v != "\ud800"] + RAW_BYTES
WRONG_TYPES: list[Any] = [None, 12345, 1.5, True, [], ["hana"], {}, {"$ne": ""}]
# What PostgreSQL takes differently from SQLite: it refuses NUL in text, enforces each
# column's length, and stores only valid UTF-8. Everything else reaches both databases as
# the same bound parameter, or is refused before it reaches either.
STORED_DIFFERENTLY = {"\x00", "hana\x00", "x" * 10_000, "\ud800"} | {unquote(v) for v in RAW_BYTES}


def to_sweep(ctx: Context, values: list[Any]) -> list[Any]:
    """The values a sweep over every route sends: all of them on SQLite; on PostgreSQL
    those it stores differently (every value on both made these sweeps 74 of the 523 s
    the suite's PostgreSQL variants took). The tests of one field send every value to
    both databases."""
    if ctx.database.is_sqlite:
        return values
    return [v for v in values if isinstance(v, str) and unquote(v) in STORED_DIFFERENTLY]


def post_json(client: TestClient, path: str, body: Any, **kwargs: Any):
    """json.dumps escapes a lone surrogate as \\ud800, as a hostile client would send it."""
    headers = {"Content-Type": "application/json", **kwargs.pop("headers", {})}
    return client.post(path, content=json.dumps(body), headers=headers, **kwargs)


def is_problem(response: Response) -> bool:
    return bool(response.headers.get("content-type", "").startswith("application/problem+json"))


def never_broken(response, where: str) -> None:
    assert response.status_code < 500, f"{where}: {response.status_code} {response.text[:300]}"
    if response.status_code >= 400 and not response.headers["content-type"].startswith("text/html"):
        assert is_problem(response), f"{where}: {response.headers['content-type']}"
        assert response.json()["code"], where


@pytest.fixture
def hostile_client(ctx: Context) -> Iterator[TestClient]:
    """A client that shows a 500 as a response, so the test can name the route; throttles
    are set out of reach so every attempt goes all the way through."""
    patient = with_settings(ctx, login_account_free_failures=100_000, login_ip_failures=100_000)
    with app_client(patient, raise_server_exceptions=False) as client:
        yield client


# --- the foundation's own entry points, with what must (not) be stored --------------------


@pytest.mark.parametrize("value", HOSTILE_STRINGS)
def test_a_hostile_username_is_refused_and_nothing_is_stored(hostile_client, ctx, value):
    response = post_json(
        hostile_client, "/api/v1/accounts", {"username": value, "password": PASSWORD}
    )

    problem(response, 422, response.json()["code"])
    assert response.json()["code"] in ("invalid_username", "invalid_request")
    assert count(ctx, User) == 0


@pytest.mark.parametrize("field", ["email", "phone"])
@pytest.mark.parametrize("value", [v for v in HOSTILE_STRINGS if v.strip()])
def test_a_hostile_e_mail_or_phone_is_refused_and_nothing_is_stored(
    hostile_client, ctx, field, value
):
    response = post_json(
        hostile_client, "/api/v1/accounts", {"username": "hana", "password": PASSWORD, field: value}
    )

    assert response.status_code == 422, response.text
    assert is_problem(response)
    assert count(ctx, User) == 0


@pytest.mark.parametrize(
    "password",
    [
        "<script>alert(1)</script>",
        "' OR '1'='1' --",
        '"; DROP TABLE users; --',
        "😀👨‍👩‍👧‍👦 family emoji pass",
        "\u202epassword backwards",
        "e\u0301\u0302\u0303\u0304 combining marks",
    ],
)
def test_sql_html_and_odd_unicode_are_just_characters_in_a_password(hostile_client, password):
    sign_up(hostile_client, password=password)

    assert log_in(hostile_client, password=password)
    wrong = post_json(hostile_client, "/api/v1/login", {"login": "hana", "password": "' OR 1=1 --"})
    problem(wrong, 401, "invalid_credentials")


@pytest.mark.parametrize("value", ["\x00", "pass\x00word long enough", "\ud800 and more text"])
def test_a_password_that_is_not_text_is_refused(hostile_client, ctx, value):
    response = post_json(
        hostile_client, "/api/v1/accounts", {"username": "hana", "password": value}
    )

    assert response.status_code == 422, response.text
    assert count(ctx, User) == 0


@pytest.mark.parametrize("value", HOSTILE_STRINGS + WRONG_TYPES)
@pytest.mark.parametrize("field", ["login", "password"])
def test_hostile_logins_are_4xx_and_start_no_session(hostile_client, ctx, field, value):
    sign_up(hostile_client)
    body: dict[str, Any] = {"login": "hana", "password": PASSWORD, field: value}

    response = post_json(hostile_client, "/api/v1/login", body)

    assert 400 <= response.status_code < 500, response.text
    assert is_problem(response)
    assert count(ctx, LoginSession) == 0


@pytest.mark.parametrize(
    "body",
    [b'{"username": "hana", "password": ', b"not json", b"\xff\xfe", b"[]", b"null", b"1e999999"],
)
def test_malformed_json_is_422_invalid_request(hostile_client, ctx, body):
    for path in ("/api/v1/accounts", "/api/v1/login"):
        response = hostile_client.post(
            path, content=body, headers={"Content-Type": "application/json"}
        )
        problem(response, 422, "invalid_request")
    assert count(ctx, User) == 0


@pytest.mark.parametrize(
    "body",
    [b"[" * 60_000, b'{"login": ' + b"1" * 60_000 + b', "password": "x"}'],
    ids=["nested-60000-deep", "a-60000-digit-number"],
)
def test_json_too_deep_or_too_big_to_parse_is_a_clear_4xx(hostile_client, body):
    response = hostile_client.post(
        "/api/v1/login", content=body, headers={"Content-Type": "application/json"}
    )

    assert response.status_code in (400, 422)
    problem(response, response.status_code, "invalid_request")


def test_missing_fields_are_named_in_the_problem(hostile_client):
    body = problem(post_json(hostile_client, "/api/v1/accounts", {}), 422, "invalid_request")

    assert {error["field"] for error in body["errors"]} == {"username", "password"}
    assert all(error["reason"] == "missing" for error in body["errors"])


def test_a_problem_never_echoes_the_input(hostile_client):
    secret = "my secret password that is far too long " * 200

    response = post_json(hostile_client, "/api/v1/login", {"login": "hana", "password": secret})

    assert "my secret password" not in response.text


def test_a_10_mb_sign_up_is_413_and_stores_nothing(hostile_client, ctx):
    huge = json.dumps({"username": "hana", "password": "x" * TEN_MB}).encode()

    response = hostile_client.post(
        "/api/v1/accounts", content=huge, headers={"Content-Type": "application/json"}
    )

    problem(response, 413, "payload_too_large")
    assert count(ctx, User) == 0


def test_a_10_mb_body_sent_in_chunks_without_a_length_is_413_too(hostile_client, ctx):
    def chunks() -> Iterator[bytes]:
        yield b'{"username": "hana", "password": "'
        for _ in range(160):
            yield b"x" * 65536
        yield b'"}'

    response = hostile_client.post(
        "/api/v1/accounts", content=chunks(), headers={"Content-Type": "application/json"}
    )

    problem(response, 413, "payload_too_large")
    assert count(ctx, User) == 0


@pytest.mark.parametrize(
    "header",
    [
        {"User-Agent": "x" * 10_000},
        {"User-Agent": "Mozilla\x00/5.0"},
        {"User-Agent": "<script>alert(1)</script>"},
        {"Authorization": "Bearer " + "x" * 10_000},
        {"Authorization": "Bearer \x00"},
        {"Authorization": "Basic aGFuYTpwYXNz"},
        {"Cookie": "mamori_session=" + "x" * 4000},
        {"Cookie": "mamori_session=%00; mamori_csrf=%00"},
        {"X-Forwarded-For": "' OR 1=1 --, \x00"},
        {"Content-Length": "abc"},
    ],
)
def test_hostile_headers_never_break_a_request(hostile_client, ctx, header):
    sign_up(hostile_client)
    encoded = {name: value.encode("latin-1", "replace") for name, value in header.items()}

    for method, path in (("POST", "/api/v1/login"), ("GET", "/api/v1/me"), ("GET", "/login")):
        response = hostile_client.request(
            method,
            path,
            json={"login": "hana", "password": PASSWORD} if method == "POST" else None,
            headers=encoded,
        )
        never_broken(response, f"{method} {path} with {list(header)}")


def test_a_hostile_user_agent_is_stored_clean_and_short(hostile_client, ctx):
    sign_up(hostile_client)
    response = hostile_client.post(
        "/api/v1/login",
        json={"login": "hana", "password": PASSWORD},
        headers={"User-Agent": b"Evil\x00Agent\x1b[31m" + b"x" * 1000},
    )
    token = response.json()["token"]

    [session] = hostile_client.get("/api/v1/me/sessions", headers=bearer(token)).json()["sessions"]
    assert session["user_agent"].startswith("EvilAgent[31m")
    assert len(session["user_agent"]) == 256


def test_a_forwarded_address_with_an_ipv6_zone_is_stored_without_it(ctx):
    """Behind a trusted proxy, "fe80::1%<anything>" must not reach the 64-character column."""
    behind_proxy = with_settings(ctx, trusted_proxies=["10.0.0.0/8"])
    with app_client(behind_proxy, peer=("10.0.0.2", 443)) as proxy:
        sign_up(proxy)
        response = proxy.post(
            "/api/v1/login",
            json={"login": "hana", "password": PASSWORD},
            headers={"X-Forwarded-For": "fe80::1%" + "z" * 200},
        )
        listed = proxy.get("/api/v1/me/sessions", headers=bearer(response.json()["token"]))

    assert listed.json()["sessions"][0]["ip"] == "fe80::1"


# --- every JSON route, found in the OpenAPI schema ---------------------------------------


def api_operations(client: TestClient) -> list[tuple[str, str, dict[str, Any]]]:
    schema = client.get("/openapi.json").json()
    found = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            found.append((method.upper(), path, operation))
    return found


def request_fields(client: TestClient, operation: dict[str, Any]) -> dict[str, Any]:
    """The JSON body's properties, with their schemas ({} when there is no body)."""
    content = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if not content:
        return {}
    schema = content["schema"]
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[1]
        schema = client.get("/openapi.json").json()["components"]["schemas"][name]
    properties: dict[str, Any] = schema.get("properties", {})
    return properties


def plausible(field_schema: dict[str, Any]) -> Any:
    options = field_schema.get("anyOf", [field_schema])
    for option in options:
        if option.get("enum"):
            return option["enum"][0]
        if option.get("type") == "string":
            return "12345678"
        if option.get("type") == "integer":
            return 1
        if option.get("type") == "boolean":
            return True
    return "12345678"


def concrete(path: str, value: str = "x") -> str:
    while "{" in path:
        start, end = path.index("{"), path.index("}")
        path = path[:start] + value + path[end + 1 :]
    return path


@pytest.fixture
def token(hostile_client) -> str:
    sign_up(hostile_client, email="hana@example.com", phone="090-1234-5678")
    return log_in(hostile_client)


def test_every_api_route_survives_hostile_bodies(hostile_client, ctx, token):
    broken = []
    for method, path, operation in api_operations(hostile_client):
        fields = request_fields(hostile_client, operation)
        url = concrete(path)
        bodies: list[Any] = [{}, [], None, "text", {"unexpected": "field"}]
        for name in fields:
            base = {other: plausible(s) for other, s in fields.items()}
            values = to_sweep(ctx, HOSTILE_STRINGS + WRONG_TYPES)
            bodies += [{**base, name: value} for value in values]
        for body in bodies:
            response = hostile_client.request(
                method,
                url,
                content=json.dumps(body),
                headers={**bearer(token), "Content-Type": "application/json"},
            )
            if response.status_code >= 500 or (
                response.status_code >= 400 and not is_problem(response)
            ):
                broken.append(f"{method} {path} {json.dumps(body)[:80]} -> {response.status_code}")
    assert not broken, "\n".join(broken)
    assert client_still_works(hostile_client)


def test_every_api_route_survives_hostile_path_parameters(hostile_client, token):
    broken = []
    for method, path, _operation in api_operations(hostile_client):
        if "{" not in path:
            continue
        for value in (
            "%00",
            "x%00y",
            "a" * 5000,
            "..%2F..%2Fetc",
            "%F0%9F%98%80",
            "'%20OR%201=1",
            "-1",
            "99999999999999999999",
        ):
            response = hostile_client.request(
                method, concrete(path, value), headers=bearer(token), json={}
            )
            if response.status_code >= 500 or (
                response.status_code >= 400 and not is_problem(response)
            ):
                broken.append(f"{method} {path} with {value[:20]} -> {response.status_code}")
    assert not broken, "\n".join(broken)


def test_every_api_route_refuses_10_mb(hostile_client, token):
    for method, path, _operation in api_operations(hostile_client):
        if method in ("GET", "HEAD"):
            continue
        response = hostile_client.request(
            method,
            concrete(path),
            content=b"{" + b" " * TEN_MB + b"}",
            headers={**bearer(token), "Content-Type": "application/json"},
        )
        problem(response, 413, "payload_too_large")


def client_still_works(client: TestClient) -> bool:
    return bool(client.get("/healthz").status_code == 200)


# --- every HTML form, found in the app's routes ------------------------------------------


def form_routes(client: TestClient):
    """Every POST page route (the endpoints apps call, such as /oauth/token, answer in
    OAuth's shape: tests/oidc/test_hostile_requests.py)."""
    app: Any = client.app
    pages = {getattr(route, "path", "") for route in app.state.pages.values()}
    return [
        r
        for r in routes(client.app)
        if "POST" in r.methods and r.path in pages and "{" not in r.path
    ]


@pytest.fixture
def browser(hostile_client: TestClient) -> TestClient:
    sign_up(hostile_client, email="hana@example.com")
    web_log_in(hostile_client, "hana", PASSWORD)
    return hostile_client


PLAUSIBLE_FORM_VALUES = {
    "username": "hana_x",
    "login": "hana",
    "password": "a plausible passphrase 2026",
    "current_password": PASSWORD,
    "new_password": "a plausible passphrase 2026",
    "email": "",
    "phone": "",
    "next": "/",
    "lang": "ja",
    "code": "123456",
}


def test_every_form_survives_hostile_fields(browser, ctx):
    token = csrf_from(browser.get("/login"))
    broken = []
    for route in form_routes(browser):
        if route.path == "/logout":
            continue  # logging out is harmless and would end the test's session
        fields = [name for name in route.body_fields if name != "csrf_token"]
        for name in fields:
            for value in to_sweep(ctx, FORM_HOSTILE):
                encoded = {other: PLAUSIBLE_FORM_VALUES.get(other, "x") for other in fields}
                encoded |= {name: value, "csrf_token": token}
                response = browser.post(
                    route.path,
                    content="&".join(f"{key}={val}" for key, val in encoded.items()),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                    follow_redirects=False,
                )
                where = f"POST {route.path} {name}={unquote(value)[:20]!r}"
                if response.status_code >= 500:
                    broken.append(f"{where} -> {response.status_code}")
                elif "<script>alert(1)</script>" in response.text:
                    broken.append(f"{where} -> HTML not escaped")
                elif response.status_code >= 400 and not (
                    is_problem(response) or response.headers["content-type"].startswith("text/html")
                ):
                    broken.append(f"{where} -> {response.headers['content-type']}")
    assert not broken, "\n".join(broken)


@pytest.mark.parametrize("field", ["username", "email", "phone"])
def test_the_sign_up_page_refuses_hostile_fields_and_stores_nothing(hostile_client, ctx, field):
    token = csrf_from(hostile_client.get("/signup"))
    for value in FORM_HOSTILE:
        if field != "username" and not unquote(value).strip():
            continue  # an empty e-mail or phone is simply "not given"
        fields = {"username": "hana", "password": PASSWORD, "email": "", "phone": "", field: value}
        response = hostile_client.post(
            "/signup",
            content="&".join(f"{k}={quote(v) if k != field else v}" for k, v in fields.items())
            + f"&csrf_token={token}",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            follow_redirects=False,
        )
        assert 400 <= response.status_code < 500, f"{field}={unquote(value)[:20]!r}"
        assert "<script>alert(1)</script>" not in response.text
    assert count(ctx, User) == 0
    assert count(ctx, LoginSession) == 0


def test_every_form_refuses_10_mb(browser):
    token = csrf_from(browser.get("/login"))
    for route in form_routes(browser):
        response = browser.post(
            route.path,
            content=f"csrf_token={token}&x=".encode() + b"a" * TEN_MB,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        problem(response, 413, "payload_too_large")


def test_every_form_survives_a_multipart_body(browser):
    token = csrf_from(browser.get("/login"))
    for route in form_routes(browser):
        if route.path == "/logout":
            continue
        response = browser.post(
            route.path,
            data={"csrf_token": token},
            files={"password": ("x.txt", b"\x00\x01\x02" * 100, "application/octet-stream")},
            follow_redirects=False,
        )
        never_broken(response, f"multipart POST {route.path}")


def test_every_page_survives_hostile_query_parameters(browser, ctx):
    broken = []
    for route in routes(browser.app):
        if "GET" not in route.methods or route.path.startswith(
            ("/api/", "/static", "/docs-assets")
        ):
            continue
        if "{" in route.path:
            continue
        names = list(route.query_fields) or ["next"]
        for value in to_sweep(ctx, FORM_HOSTILE):
            query = "&".join(f"{name}={value}" for name in names)
            response = browser.get(f"{route.path}?{query}", follow_redirects=False)
            where = f"GET {route.path} {names}={unquote(value)[:20]!r}"
            if response.status_code >= 500:
                broken.append(f"{where} -> {response.status_code}")
            if "<script>alert(1)</script>" in response.text:
                broken.append(f"{where} -> HTML not escaped")
    assert not broken, "\n".join(broken)
