"""`mamori clients create | list | show | rotate-secret | disable`, run as an operator runs
them, against the test's database: what an app developer is handed, and what is stored."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy import select, text

from mamori.oidc.clients import new_client_id
from mamori.oidc.models import OidcClient
from tests.core.helpers import events, run_cli
from tests.support.helpers import write_secrets


@pytest.fixture
def operator(ctx):
    write_secrets(ctx)
    return ctx


def create(ctx, *args: str) -> dict[str, str | None]:
    result = run_cli(ctx, "clients", "create", *args, "--json")
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.output))


def test_a_confidential_app_gets_its_secret_once_and_only_a_digest_is_kept(operator):
    made = create(operator, "Photos", "--redirect-uri", "https://photos.example/callback")
    secret = made["client_secret"]
    assert made["client_id"] and secret and len(secret) >= 43

    with operator.database.session() as db:
        dump = "\n".join(str(row) for row in db.execute(text("SELECT * FROM oidc_clients")).all())
    assert secret not in dump
    shown = run_cli(operator, "clients", "show", str(made["client_id"]))
    assert shown.exit_code == 0 and secret not in shown.output
    assert json.loads(shown.output)["redirect_uris"] == ["https://photos.example/callback"]
    assert events(operator, "oidc.client_created")


@pytest.mark.both_databases
def test_a_public_app_has_no_secret(operator):
    made = create(
        operator,
        "Phone app",
        "--public",
        "--redirect-uri",
        "com.example.phone:/callback",
        "--redirect-uri",
        "http://127.0.0.1/callback",
    )
    assert made["client_secret"] is None
    listed = run_cli(operator, "clients", "list", "--json")
    row = json.loads(listed.output.splitlines()[0])
    assert row["public"] is True and row["first_party"] is False


@pytest.mark.parametrize(
    "uri",
    [
        "http://photos.example/callback",  # plain http to another machine
        "https://photos.example/callback#here",  # a fragment
        "/callback",  # not absolute
        "com.example.phone:/callback",  # a private-use scheme, but the app is confidential
    ],
)
def test_a_redirect_uri_an_attacker_could_read_is_refused(operator, uri):
    result = run_cli(operator, "clients", "create", "Photos", "--redirect-uri", uri)
    assert result.exit_code == 1
    assert "invalid_client_settings" in result.output
    with operator.database.session() as db:
        assert db.scalar(select(OidcClient)) is None


def test_rotating_the_secret_replaces_the_old_one_and_disable_is_recorded(operator):
    made = create(operator, "Photos", "--redirect-uri", "https://photos.example/cb")
    client_id = str(made["client_id"])
    rotated = run_cli(operator, "clients", "rotate-secret", client_id, "--json")
    assert rotated.exit_code == 0, rotated.output
    new_secret = json.loads(rotated.output)["client_secret"]
    assert new_secret and new_secret != made["client_secret"]

    disabled = run_cli(operator, "clients", "disable", client_id)
    assert disabled.exit_code == 0
    shown = json.loads(run_cli(operator, "clients", "show", client_id).output)
    assert shown["disabled_at"] is not None
    assert events(operator, "oidc.client_secret_rotated")
    assert events(operator, "oidc.client_disabled")


def test_an_unknown_client_id_is_named_as_such(operator):
    result = run_cli(operator, "clients", "show", "nobody")
    assert result.exit_code == 1 and "client_not_found" in result.output


def test_a_public_app_has_no_secret_to_rotate(operator):
    made = create(operator, "SPA", "--public", "--redirect-uri", "https://spa.example/cb")
    result = run_cli(operator, "clients", "rotate-secret", str(made["client_id"]))
    assert result.exit_code == 1 and "invalid_client_settings" in result.output


def test_an_app_id_never_reads_as_an_option_in_the_operators_shell():
    # One id in 64 began with "-" when ids were url-safe base64, and
    # `mamori clients rotate-secret -v3…` then failed with "No such option".
    ids = {new_client_id() for _ in range(2000)}
    assert len(ids) == 2000
    assert all(re.fullmatch(r"[0-9a-f]{32}", client_id) for client_id in ids)
