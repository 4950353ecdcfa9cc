"""README.md is what a new user and CI follow: its commands and settings must stay true."""

from __future__ import annotations

import re
from pathlib import Path

from pydantic_core import PydanticUndefined

from mamori.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
CI_RUN = ROOT / ".ci" / "run"

START = (
    "python3 -m venv .venv && .venv/bin/pip install -e . && "
    "MAMORI_ENV=development .venv/bin/mamori serve"
)
TEST = (
    "python3 -m venv .venv && .venv/bin/pip install -e '.[test]' && .venv/bin/ruff check . && "
    ".venv/bin/ruff format --check . && .venv/bin/mypy && .venv/bin/lint-imports && "
    ".venv/bin/pytest"
)


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"README.md has no '## {title}' section"
    return match.group(1)


def shell_blocks(text: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```sh\n(.*?)```", text, re.S)]


def configuration_rows() -> dict[str, str]:
    rows = {}
    for line in section("Configuration").splitlines():
        match = re.match(r"\|\s*`(MAMORI_[A-Z0-9_]+)`\s*\|", line)
        if match:
            rows[match.group(1)] = line
    return rows


def test_the_two_commands_come_first_exactly_as_a_new_user_types_them():
    assert shell_blocks(section("The two commands"))[:2] == [START, TEST]
    assert README.index("## The two commands") < README.index("## Configuration")


def test_ci_runs_the_readme_test_command_verbatim():
    script = CI_RUN.read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert TEST in [line.strip() for line in script.splitlines()]
    assert CI_RUN.stat().st_mode & 0o111, ".ci/run must be executable"


def test_every_setting_is_documented_with_its_default():
    rows = configuration_rows()
    missing, wrong_default = [], []
    for name, field in Settings.model_fields.items():
        variable = f"MAMORI_{name.upper()}"
        row = rows.get(variable)
        if row is None:
            missing.append(variable)
            continue
        default = field.default
        if default is PydanticUndefined or default is None:
            continue
        stated = str(default).lower() if isinstance(default, bool) else str(default)
        if f"`{stated}`" not in row:
            wrong_default.append(f"{variable} (default `{default}`)")
    assert not missing, "README.md 'Configuration' lacks: " + ", ".join(missing)
    assert not wrong_default, "README.md 'Configuration' states another default for: " + (
        ", ".join(wrong_default)
    )


def test_readme_documents_no_setting_that_does_not_exist():
    known = {f"MAMORI_{name.upper()}" for name in Settings.model_fields}
    stale = sorted(set(configuration_rows()) - known)
    assert not stale, f"README.md documents settings mamori does not read: {stale}"
