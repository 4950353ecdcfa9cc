"""Named tasks for a checkout: `nox -s lint`, `fix`, `test-fast`, `test`, `docs`,
`screenshots`, `bench`.

Every session runs the tools of the project's own `.venv` (README's test command makes it;
a session makes it when it is missing), so nox adds no environment of its own and each
session runs exactly what CI runs. Arguments after `--` go to the tool:
`nox -s test -- tests/backup_codes -x`, `nox -s docs -- serve`, `nox -s bench -- --only limit`.
"""

from __future__ import annotations

from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / "bin"

nox.options.sessions = ["lint", "test"]
nox.options.default_venv_backend = "none"


def tool(name: str) -> str:
    return str(BIN / name)


def ensure_venv(session: nox.Session) -> None:
    """README's install step, when `.venv` is not there yet."""
    if not (BIN / "mamori").exists():
        session.run("python3", "-m", "venv", str(VENV), external=True)
        session.run(tool("pip"), "install", "-e", ".[test]", external=True)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, ruff format --check, mypy and the import-linter contracts, as CI runs them."""
    ensure_venv(session)
    session.run(tool("ruff"), "check", ".", external=True)
    session.run(tool("ruff"), "format", "--check", ".", external=True)
    session.run(tool("mypy"), external=True)
    session.run(tool("lint-imports"), external=True)


@nox.session
def fix(session: nox.Session) -> None:
    """Let ruff fix what it can and format everything."""
    ensure_venv(session)
    session.run(tool("ruff"), "check", "--fix", ".", external=True)
    session.run(tool("ruff"), "format", ".", external=True)


@nox.session(name="test-fast")
def test_fast(session: nox.Session) -> None:
    """The suite without the browser and fault tests: the quick loop."""
    ensure_venv(session)
    session.run(tool("pytest"), "-m", "not browser and not faults", *session.posargs, external=True)


@nox.session
def test(session: nox.Session) -> None:
    """The whole suite (PostgreSQL and Redis variants when MAMORI_TEST_* are set)."""
    ensure_venv(session)
    session.run(tool("pytest"), *session.posargs, external=True)


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site with --strict, as CI does; `-- serve` to read it live."""
    ensure_venv(session)
    env = {"NO_MKDOCS_2_WARNING": "1"}
    if session.posargs[:1] == ["serve"]:
        session.run(tool("mkdocs"), "serve", *session.posargs[1:], env=env, external=True)
    else:
        session.run(tool("mkdocs"), "build", "--strict", *session.posargs, env=env, external=True)


@nox.session
def screenshots(session: nox.Session) -> None:
    """Every page in Japanese (390×844, Tokyo) and English (1280×800, London) as PNG files in
    the folder given after `--` (default: screenshots/), for a reviewer to look through."""
    ensure_venv(session)
    folder = session.posargs[0] if session.posargs else "screenshots"
    session.run(tool("python"), "-m", "tests.pages.screenshots", folder, external=True)


@nox.session
def bench(session: nox.Session) -> None:
    """Rerun the benchmarks (quick by default) and write bench/results/."""
    ensure_venv(session)
    arguments = session.posargs or ["--quick"]
    session.run(tool("python"), "bench/run.py", *arguments, external=True)
