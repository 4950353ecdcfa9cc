"""The endpoints apps call take anything in any field and answer in OAuth's own shape
(`{"error", "error_description"}`) or as problem+json, never a 500 and never a token."""

from __future__ import annotations

from urllib.parse import unquote

from tests.core.helpers import routes
from tests.core.test_hostile_input import FORM_HOSTILE, is_problem
from tests.oidc.helpers import register

APP_ENDPOINTS = ("/oauth/token", "/oauth/revoke", "/oauth/introspect")


def test_every_field_of_the_app_endpoints_survives_hostile_values(client, ctx):
    app = register(ctx)
    broken = []
    for route in routes(client.app):
        if route.path not in APP_ENDPOINTS or "POST" not in route.methods:
            continue
        for name in route.body_fields:
            for value in FORM_HOSTILE:
                fields = {other: "x" for other in route.body_fields}
                fields |= {"client_id": app.client_id, name: value}
                response = client.post(
                    route.path,
                    content="&".join(f"{key}={val}" for key, val in fields.items()),
                    headers={"Content-Type": "application/x-www-form-urlencoded"},
                )
                where = f"POST {route.path} {name}={unquote(value)[:20]!r}"
                if response.status_code >= 500:
                    broken.append(f"{where} -> {response.status_code}")
                elif response.status_code >= 400 and not (
                    is_problem(response) or "error" in response.json()
                ):
                    broken.append(f"{where} -> {response.text[:80]}")
                elif "access_token" in response.text:
                    broken.append(f"{where} -> a token")
    assert not broken, "\n".join(broken)
    for path in ("/oauth/userinfo",):
        for value in FORM_HOSTILE:
            answered = client.get(path, headers={"authorization": f"Bearer {value}"})
            assert answered.status_code == 401, (value, answered.text)
