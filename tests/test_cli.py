"""The operator's command line: `mamori migrate`, `mamori users …` (`mamori audit` is in
tests/audit, `mamori serve` in tests/test_serve.py)."""

from __future__ import annotations

import json
import stat

from sqlalchemy import inspect
from typer.testing import CliRunner

from mamori.cli import app
from mamori.core.db import Database
from tests.conftest import PASSWORD, log_in, sign_up
from tests.core.helpers import events, run_cli


def test_help_lists_the_commands_an_operator_needs():
    result = CliRunner().invoke(app, ["--help"])

    assert result.exit_code == 0
    for command in ("serve", "migrate", "users", "audit"):
        assert command in result.output


def test_migrate_on_a_fresh_machine_creates_the_data_directory(tmp_path):
    data = tmp_path / "mamori-data"
    environment = {"MAMORI_DATA_DIR": str(data), "MAMORI_DATABASE_URL": ""}

    first = CliRunner().invoke(app, ["migrate"], env=environment)
    second = CliRunner().invoke(app, ["migrate"], env=environment)

    assert first.exit_code == second.exit_code == 0, first.output
    assert "database is up to date" in second.output
    secrets_file = data / "secrets.json"
    assert stat.S_IMODE(secrets_file.stat().st_mode) == 0o600
    assert set(json.loads(secrets_file.read_text())) == {"pepper", "current_key_id", "sealing_keys"}
    database = Database(f"sqlite:///{data / 'mamori.db'}")
    tables = set(inspect(database.engine).get_table_names())
    database.engine.dispose()
    assert {"users", "login_sessions", "audit_events", "throttle_counters"} <= tables


def test_migrate_keeps_the_secrets_of_an_earlier_start(tmp_path):
    environment = {"MAMORI_DATA_DIR": str(tmp_path), "MAMORI_DATABASE_URL": ""}
    CliRunner().invoke(app, ["migrate"], env=environment)
    before = (tmp_path / "secrets.json").read_text()

    CliRunner().invoke(app, ["migrate"], env=environment)

    assert (tmp_path / "secrets.json").read_text() == before


def test_users_list_shows_each_account_and_its_state(client, ctx):
    sign_up(client, "hana")
    sign_up(client, "kenji")
    run_cli(ctx, "users", "disable", "kenji")

    result = run_cli(ctx, "users", "list")

    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.output.strip().splitlines()]
    assert [row[1:] for row in rows] == [["hana", "active"], ["kenji", "disabled"]]


def test_users_show_never_prints_a_secret(client, ctx):
    sign_up(client, "hana", email="hana@example.com", phone="090-1234-5678")

    result = run_cli(ctx, "users", "show", "HANA")

    assert result.exit_code == 0, result.output
    assert "username: hana" in result.output
    assert "email: hana@example.com" in result.output
    assert "phone: +819012345678" in result.output
    assert "disabled: False" in result.output
    assert "$argon2" not in result.output
    assert PASSWORD not in result.output


def test_unknown_users_are_an_error_for_every_command(ctx):
    for command in ("show", "disable", "enable"):
        result = run_cli(ctx, "users", command, "nobody")
        assert result.exit_code == 1
        assert "no account named 'nobody'" in result.output


def test_disabling_and_enabling_are_audited_as_the_operator(client, ctx):
    sign_up(client, "hana")
    log_in(client)

    run_cli(ctx, "users", "disable", "hana")
    run_cli(ctx, "users", "enable", "hana")

    disabled, enabled = events(ctx, "account.disabled"), events(ctx, "account.enabled")
    assert len(disabled) == len(enabled) == 1
    assert disabled[0].user_agent == "mamori-cli"
    [revoked] = events(ctx, "session.revoked_others")
    assert revoked.details["count"] == 1
