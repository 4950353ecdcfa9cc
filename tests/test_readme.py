"""README.md is what a new user and CI follow: its commands and links must stay true."""

from __future__ import annotations

import re
from pathlib import Path

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


def test_the_two_commands_come_first_exactly_as_a_new_user_types_them():
    assert shell_blocks(section("The two commands"))[:2] == [START, TEST]
    assert README.index("## The two commands") < README.index("## A 60-second tour")


def test_ci_runs_the_readme_test_command_verbatim():
    script = CI_RUN.read_text(encoding="utf-8")
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in script
    assert TEST in [line.strip() for line in script.splitlines()]
    assert CI_RUN.stat().st_mode & 0o111, ".ci/run must be executable"


# The settings table moved to the documentation site, written from the Settings class when
# the site is built: tests/test_docs.py checks every setting and its default there.


def test_readme_stays_a_few_screens():
    lines = README.splitlines()
    assert len(lines) <= 120, f"README.md has {len(lines)} lines; move the detail into docs/"


def test_every_link_in_the_readme_leads_to_a_file():
    targets = re.findall(r"\]\(((?!https?:)[^)#]+)(?:#[^)]*)?\)", README)
    assert targets, "README.md links into the docs"
    missing = [target for target in targets if not (ROOT / target).exists()]
    assert not missing, f"README.md links to files that do not exist: {missing}"
