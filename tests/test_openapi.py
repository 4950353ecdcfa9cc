"""/openapi.json is the API contract app developers build against, so it is kept exact.

It is compared with tests/openapi_snapshot.json, committed beside this file: any change
to a route, a field or an error shows up in review as a change to the snapshot. After a
deliberate API change, refresh the snapshot with:

    .venv/bin/python -m tests.test_openapi

The other tests hold the schema to DESIGN.md's "API contract v1": only /api/v1 routes,
the documented field names and answers, errors as problem+json.
"""

from __future__ import annotations

import difflib
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest

from mamori.app import create_app
from mamori.settings import Settings
from tests.core.helpers import routes

SNAPSHOT = Path(__file__).with_name("openapi_snapshot.json")
REFRESH = ".venv/bin/python -m tests.test_openapi"

# DESIGN.md "API contract v1": (method, path) -> request fields, success status, answer fields.
# Routes other features have not built yet are checked as soon as they appear.
CONTRACT: dict[tuple[str, str], tuple[set[str], str, set[str]]] = {
    ("post", "/api/v1/accounts"): (
        {"username", "password", "email", "phone"},
        "201",
        {"id", "username"},
    ),
    ("post", "/api/v1/login"): ({"login", "password"}, "200", {"status", "token"}),
    ("post", "/api/v1/login/{challenge}/send"): ({"method"}, "202", set()),
    ("post", "/api/v1/login/{challenge}/verify"): ({"method", "code"}, "200", {"status", "token"}),
    ("post", "/api/v1/me/reauthenticate"): ({"password"}, "204", set()),
    ("post", "/api/v1/me/two-factor/totp"): (set(), "200", {"secret", "otpauth_uri", "qr_svg"}),
    ("post", "/api/v1/me/two-factor/totp/confirm"): ({"code"}, "200", {"enabled", "backup_codes"}),
    ("post", "/api/v1/me/two-factor/sms"): ({"phone"}, "202", set()),
    ("post", "/api/v1/me/two-factor/sms/confirm"): ({"code"}, "200", {"enabled", "backup_codes"}),
    ("get", "/api/v1/me/backup-codes"): (set(), "200", {"codes", "remaining", "created_at"}),
    ("post", "/api/v1/me/backup-codes"): (set(), "201", {"codes", "remaining", "created_at"}),
    ("get", "/api/v1/me/security"): (set(), "200", {"backup_codes"}),
    ("post", "/api/v1/me/password"): ({"current_password", "new_password"}, "204", set()),
    ("get", "/api/v1/me/sessions"): (set(), "200", {"sessions"}),
    ("delete", "/api/v1/me/sessions/{id}"): (set(), "204", set()),
    ("get", "/api/v1/me/security/checkup"): (set(), "200", set()),
    ("post", "/api/v1/recovery"): ({"login"}, "202", {"recovery"}),
}
SESSION_FIELDS = {"id", "current", "user_agent", "device", "ip", "created_at", "last_seen_at"}


def current_schema() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(data_dir=Path(data)))
        schema: dict[str, Any] = app.openapi()
        app.state.ctx.database.engine.dispose()
    return schema


def as_text(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return current_schema()


def same_path(template: str, path: str) -> bool:
    """{id} in DESIGN.md and {session_id} in the code name the same slot."""
    split = template.split("/"), path.split("/")
    if len(split[0]) != len(split[1]):
        return False
    return all(
        a == b or (a.startswith("{") and b.startswith("{")) for a, b in zip(*split, strict=True)
    )


def operation(schema: dict[str, Any], method: str, template: str) -> dict[str, Any] | None:
    for path, operations in schema["paths"].items():
        if same_path(template, path) and method in operations:
            found: dict[str, Any] = operations[method]
            return found
    return None


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in node:
        resolved: dict[str, Any] = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]]
        return resolved
    return node


def properties(schema: dict[str, Any], node: dict[str, Any] | None) -> set[str]:
    if not node:
        return set()
    node = resolve(schema, node)
    names = set(node.get("properties", {}))
    for option in node.get("anyOf", []) + node.get("oneOf", []):
        names |= properties(schema, option)
    return names


def test_the_schema_is_exactly_the_committed_snapshot(schema):
    expected = SNAPSHOT.read_text() if SNAPSHOT.exists() else ""
    actual = as_text(schema)

    if actual != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                actual.splitlines(keepends=True),
                "tests/openapi_snapshot.json (committed)",
                "/openapi.json (the code now)",
                n=2,
            )
        )
        pytest.fail(
            f"The API schema changed. If that is intended, refresh the snapshot with\n\n"
            f"    {REFRESH}\n\nand commit it with your change. The difference:\n\n{diff}",
            pytrace=False,
        )


def test_the_served_schema_is_the_same(client, schema):
    served = client.get("/openapi.json")

    assert served.status_code == 200
    assert as_text(served.json()) == as_text(schema)


def test_only_api_v1_routes_are_in_the_schema(schema):
    outside = [path for path in schema["paths"] if not path.startswith("/api/v1/")]

    assert outside == [], "pages, /dev and operational routes stay out of the API schema"


def test_every_api_v1_route_is_in_the_schema(client, schema):
    hidden = [
        f"{sorted(r.methods)} {r.path}"
        for r in routes(client.app)
        if r.path.startswith("/api/") and not r.in_schema
    ]
    documented = {
        (method.upper(), path)
        for path, operations in schema["paths"].items()
        for method in operations
    }
    served = {
        (method, r.path)
        for r in routes(client.app)
        if r.path.startswith("/api/")
        for method in r.methods
    }

    assert hidden == []
    assert served == documented


@pytest.mark.parametrize(("method", "path"), sorted(CONTRACT))
def test_contract_routes_have_the_documented_fields(schema, method, path):
    found = operation(schema, method, path)
    if found is None:
        pytest.skip(f"{method.upper()} {path} is not built yet")
    request_fields, success, answer_fields = CONTRACT[(method, path)]
    body = found.get("requestBody", {}).get("content", {}).get("application/json", {})

    assert request_fields <= properties(schema, body.get("schema"))
    assert success in found["responses"], f"answers {list(found['responses'])}"
    answer = found["responses"][success].get("content", {}).get("application/json", {})
    assert answer_fields <= properties(schema, answer.get("schema"))


def test_sign_up_and_login_ask_for_exactly_the_contract_fields(schema):
    sign_up = operation(schema, "post", "/api/v1/accounts")
    login = operation(schema, "post", "/api/v1/login")
    assert sign_up and login

    sign_up_body = resolve(schema, sign_up["requestBody"]["content"]["application/json"]["schema"])
    login_body = resolve(schema, login["requestBody"]["content"]["application/json"]["schema"])

    assert set(sign_up_body["properties"]) == {"username", "password", "email", "phone"}
    assert set(sign_up_body["required"]) == {"username", "password"}
    assert set(login_body["properties"]) == {"login", "password"}
    assert set(login_body["required"]) == {"login", "password"}


def test_a_session_is_listed_with_the_contract_fields(schema):
    sessions = operation(schema, "get", "/api/v1/me/sessions")
    assert sessions
    listing = resolve(schema, sessions["responses"]["200"]["content"]["application/json"]["schema"])
    item = resolve(schema, listing["properties"]["sessions"]["items"])

    assert set(item["properties"]) == SESSION_FIELDS


def test_every_error_is_documented_as_problem_json(schema):
    wrong = []
    for path, operations in schema["paths"].items():
        for method, found in operations.items():
            for status, response in found["responses"].items():
                if status.startswith(("4", "5")):
                    media = set(response.get("content", {}))
                    if media != {"application/problem+json"}:
                        wrong.append(f"{method.upper()} {path} {status}: {sorted(media)}")
    assert wrong == []
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "code"}
    assert "HTTPValidationError" not in schema["components"]["schemas"]


def test_routes_behind_a_token_say_so_and_document_401(schema):
    for path, operations in schema["paths"].items():
        for method, found in operations.items():
            if path.startswith("/api/v1/me"):
                assert found.get("security") == [{"HTTPBearer": []}], f"{method} {path}"
                assert "401" in found["responses"], f"{method} {path}"


if __name__ == "__main__":
    SNAPSHOT.write_text(as_text(current_schema()))
    print(f"wrote {SNAPSHOT}")
