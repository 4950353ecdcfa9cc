"""schemathesis against mamori's own /openapi.json: every operation, every check.

Three runs over the real app (in-process ASGI, a fresh database per operation):

- public operations without a token, on SQLite and PostgreSQL: never 5xx or off-schema;
- operations behind a token, without one, on SQLite: 401 problem+json to every request
  that reaches them. The refusal comes before any read or write, so PostgreSQL could only
  repeat it (50 cases, a fifth of the suite's PostgreSQL fuzzing time);
- with a token, on SQLite and PostgreSQL: a signed-up user, and a fresh session for every
  example (one row insert, no argon2), so a fuzzed logout, session ending or password
  change never leaves the next example without a working token. schemathesis's
  `ignored_auth` check then replays each successful request without the token and with a
  made-up one, and expects a refusal.

Bounded: schemathesis's deterministic examples and coverage cases for each operation
(about 20 requests per operation and run on average), plus MAMORI_FUZZ_EXAMPLES (default
4) generated ones, derandomized so CI repeats the same requests. Run it longer locally,
with fresh random data, with for example

    MAMORI_FUZZ_EXAMPLES=200 MAMORI_FUZZ_RANDOM=1 .venv/bin/pytest tests/fuzz
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import Case
from schemathesis.specs.openapi.checks import (
    allow_header_conformance,
    positive_data_acceptance,
    unsupported_method,
)

from mamori.app import create_app
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.sessions.service import start_session
from mamori.settings import Settings
from tests.conftest import sign_up

EXAMPLES = int(os.environ.get("MAMORI_FUZZ_EXAMPLES", "4"))
# CI repeats the same requests; MAMORI_FUZZ_RANDOM=1 explores new ones on each run.
RANDOM = os.environ.get("MAMORI_FUZZ_RANDOM") == "1"
PROBLEM = "application/problem+json"


def _app_for_the_schema() -> FastAPI:
    # One app per test process: each test points it at its own fresh context (app.state.ctx
    # is what every route reads), so schemathesis and its auth probes all reach that test's
    # database. The placeholder context only serves /openapi.json.
    data_dir = Path(tempfile.mkdtemp(prefix="mamori-fuzz-"))
    return create_app(Settings(data_dir=data_dir))


APP = _app_for_the_schema()
SCHEMA = schemathesis.openapi.from_asgi("/openapi.json", APP)

FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=not RANDOM,
    deadline=None,
    database=None,
    # A function-scoped app and account are the point: one per operation, shared by its examples.
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)


def overlapping(paths: list[str]) -> set[str]:
    """Templates that share a URL with another: /me/two-factor/totp is also {method}=totp."""

    def overlap(a: str, b: str) -> bool:
        x, y = a.split("/"), b.split("/")
        return len(x) == len(y) and all(
            p == q or p.startswith("{") or q.startswith("{") for p, q in zip(x, y, strict=True)
        )

    return {a for a in paths for b in paths if a != b and overlap(a, b)}


# On a URL two templates share, the Allow header (and which methods answer 405) is the
# union over both, which schemathesis compares with one template only. Those two checks
# are skipped there; every other check still runs on these operations.
OVERLAPPING = overlapping(list(SCHEMA.raw_schema["paths"]))


def excluded_checks(case: Case[Any]) -> list[Any]:
    excluded: list[Any] = [positive_data_acceptance]
    if case.operation.path in OVERLAPPING:
        excluded += [unsupported_method, allow_header_conformance]
    return excluded


@schemathesis.check
def schema_valid_requests_pass_request_validation(ctx: Any, response: Any, case: Case[Any]) -> None:
    """Replaces schemathesis's `positive_data_acceptance` (ST202).

    That check wants schema-valid data accepted, but mamori refuses some of it on purpose
    with a named, documented problem: a reserved username (422 username_reserved), a
    weak password, a handle that is unknown or expired (410, alike so neither leaks).
    What the schema must never do is promise data that request validation then refuses:
    that is `invalid_request`, and is a gap in the schema.
    """
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code == 422 and response.json().get("code") == "invalid_request":
        raise AssertionError(f"schema-valid request refused by validation: {response.text}")


@pytest.fixture
def app(ctx: Context) -> Iterator[FastAPI]:
    APP.state.ctx = ctx
    yield APP


def behind_a_token(operation: Any) -> bool:
    return bool(operation.definition.raw.get("security"))


def its_own_method(case: Case[Any]) -> bool:
    # schemathesis also sends methods the path does not serve (a 405 with Allow is right).
    return str(case.method).upper() == str(case.operation.method).upper()


@pytest.mark.both_databases
@SCHEMA.include(lambda ctx: not behind_a_token(ctx.operation)).parametrize()
@FUZZ
def test_public_operations(case: Case[Any], app: FastAPI) -> None:
    case.call_and_validate(excluded_checks=excluded_checks(case))


@SCHEMA.include(lambda ctx: behind_a_token(ctx.operation)).parametrize()
@FUZZ
def test_without_a_token(case: Case[Any], app: FastAPI) -> None:
    response = case.call_and_validate(excluded_checks=excluded_checks(case))

    if its_own_method(case):
        assert response.status_code == 401, response.text
        assert response.headers["content-type"] == [PROBLEM]
        assert response.json()["code"] == "not_authenticated"


@pytest.fixture
def account(app: FastAPI) -> dict[str, Any]:
    with TestClient(app, base_url="http://localhost") as client:
        return dict(sign_up(client))


@pytest.mark.both_databases
@SCHEMA.include(path_regex=r"^/api/v1/(me|logout)").parametrize()
@FUZZ
def test_with_a_fresh_token(
    case: Case[Any], app: FastAPI, ctx: Context, account: dict[str, Any]
) -> None:
    with ctx.database.session() as db:
        token = start_session(db, ctx.clock, ctx.settings, Origin(), account["id"], "password")

    case.call_and_validate(
        headers={"Authorization": f"Bearer {token.token}"},
        excluded_checks=excluded_checks(case),
    )
