"""`mamori users show NAME`: whether backup codes exist and how many remain, never the codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from mamori.bootstrap import build_context
from mamori.cli import app
from mamori.core.clock import MovableClock
from mamori.core.migrate import upgrade
from mamori.settings import Settings
from tests.backup_codes.helpers import make_codes, make_user, spend


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MAMORI_DATA_DIR", str(tmp_path))
    for name in ("MAMORI_DATABASE_URL", "MAMORI_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_users_show_counts_remaining_codes_without_showing_them(data_dir: Path) -> None:
    ctx = build_context(Settings(data_dir=data_dir), MovableClock())
    upgrade(ctx.database.engine)
    hana = make_user(ctx, "hana")
    make_user(ctx, "ken")
    codes = make_codes(ctx, hana)
    spend(ctx, hana, codes[0])
    ctx.database.engine.dispose()

    shown = CliRunner().invoke(app, ["users", "show", "hana"])
    assert shown.exit_code == 0, shown.output
    assert "backup_codes: yes, 9 remaining" in shown.output
    for code in codes:
        assert code not in shown.output and code.replace(" ", "") not in shown.output

    without = CliRunner().invoke(app, ["users", "show", "ken"])
    assert "backup_codes: none" in without.output
