"""The documentation site is what operators and app developers read: it must say what the
code does. The site is built here as CI builds it (`mkdocs build --strict`), and each test
reads the built pages: a setting, command, audit event, error code or route that exists in
the code but not in the pages fails.

What the code has is found here on its own, by other means than the build hook
(docs/hooks/mamori_docs.py) uses where possible, so that a blind spot in the hook shows.
"""

from __future__ import annotations

import html
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer.main
from pydantic_core import PydanticUndefined

import mamori
from mamori.app import create_app
from mamori.cli import app as cli_app
from mamori.core.errors import MamoriError
from mamori.settings import Settings
from tests.core.helpers import routes

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "src" / "mamori"
DOCS = ROOT / "docs"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("site")
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(target)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode == 0, "mkdocs build --strict failed:\n" + result.stderr[-6000:]
    return target


def page(site: Path, path: str) -> str:
    return (site / path / "index.html").read_text(encoding="utf-8")


def text_of(markup: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", markup))


def table_rows(markup: str) -> list[str]:
    return re.findall(r"<tr>(.*?)</tr>", markup, re.S)


# --- settings -------------------------------------------------------------------------


def configuration_rows(site: Path) -> dict[str, str]:
    rows = {}
    for row in table_rows(page(site, "operators/configuration")):
        match = re.match(r"\s*<td><code>(MAMORI_[A-Z0-9_]+)</code></td>", row)
        if match:
            rows[match.group(1)] = row
    return rows


def test_the_site_builds_with_strict_checks(site: Path) -> None:
    assert (site / "index.html").exists()
    assert (site / "ja" / "index.html").exists()


def test_every_setting_is_on_the_configuration_page_with_its_default(site: Path) -> None:
    rows = configuration_rows(site)
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
        if f"<code>{html.escape(stated, quote=False)}</code>" not in row:
            wrong_default.append(f"{variable} (default `{default}`)")
    assert not missing, "the configuration page lacks: " + ", ".join(missing)
    assert not wrong_default, "the configuration page states another default for: " + (
        ", ".join(wrong_default)
    )


def test_the_configuration_page_documents_no_setting_that_does_not_exist(site: Path) -> None:
    known = {f"MAMORI_{name.upper()}" for name in Settings.model_fields}
    stale = sorted(set(configuration_rows(site)) - known)
    assert not stale, f"the configuration page documents settings mamori does not read: {stale}"


# --- the command line -----------------------------------------------------------------


def cli_commands() -> Iterator[tuple[str, Any]]:
    def walk(command: Any, path: list[str]) -> Iterator[tuple[str, Any]]:
        yield " ".join(path), command
        for name, sub in (getattr(command, "commands", None) or {}).items():
            yield from walk(sub, [*path, name])

    yield from walk(typer.main.get_command(cli_app), ["mamori"])


def test_every_command_and_option_is_in_the_cli_reference(site: Path) -> None:
    markup = page(site, "operators/cli")
    sections = re.split(r"(?=<h[2-4] id=\")", markup)
    by_id = {}
    for section in sections:
        match = re.match(r'<h[2-4] id="([^"]+)"', section)
        if match:
            by_id[match.group(1)] = text_of(section)
    missing = []
    for name, command in cli_commands():
        section = by_id.get(name.replace(" ", "-"))
        if section is None:
            missing.append(name)
            continue
        for param in command.params:
            if param.name in ("install_completion", "show_completion"):
                continue
            for option in getattr(param, "opts", []):
                shown = {option if option.startswith("-") else option.upper()}
                if param.metavar:
                    shown.add(param.metavar)
                if not any(f"{word}" in section for word in shown):
                    missing.append(f"{name} {option}")
    assert not missing, "the CLI reference lacks: " + ", ".join(missing)


# --- audit events ---------------------------------------------------------------------


def _calls(text: str, name: str) -> Iterator[str]:
    """The source text of every call to `name(...)`, parentheses balanced."""
    for match in re.finditer(rf"\b{name}\(", text):
        depth, end = 0, match.end() - 1
        for end in range(match.end() - 1, len(text)):
            depth += {"(": 1, ")": -1}.get(text[end], 0)
            if depth == 0:
                break
        yield text[match.end() : end]


def audit_events_in_code() -> set[str]:
    """Event names from the source text: the first `"family.event"` literal of each
    `record_event(` call, an f-string over `kind` expanded to e-mail and phone, and every
    `failed_event="..."`."""
    from mamori.contact_details.service import KINDS

    events: set[str] = set()
    unnamed = []
    for path in SOURCE.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        events.update(re.findall(r'failed_event="([a-z_]+\.[a-z_]+)"', text))
        for call in _calls(text, "record_event"):
            if call.lstrip().startswith("db: Session"):
                continue  # the definition
            found = re.search(r'(f?)"([a-z_{}]+\.[a-z_{}]+)"', call)
            if found is None:
                if "failed_event" not in call:
                    unnamed.append(f"{path.name}: record_event({call[:60]}…)")
                continue
            if found.group(1):
                events.update(found.group(2).replace("{kind}", kind) for kind in KINDS)
            else:
                events.add(found.group(2))
    assert not unnamed, f"record_event calls whose event this test cannot read: {unnamed}"
    return events


def test_every_audit_event_is_listed(site: Path) -> None:
    markup = page(site, "security/audit-events")
    listed = set(re.findall(r"<tr>\s*<td><code>([a-z_]+\.[a-z_]+)</code></td>", markup))
    events = audit_events_in_code()
    assert len(events) > 50
    assert not events - listed, f"the audit event list lacks: {sorted(events - listed)}"
    assert not listed - events, (
        f"the audit event list names events no code records: {sorted(listed - events)}"
    )


# --- error codes ----------------------------------------------------------------------


def error_codes_in_code() -> set[str]:
    for module in pkgutil.walk_packages(mamori.__path__, "mamori."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)
    from mamori.accounts.errors import PASSWORD_PROBLEMS

    codes = set(PASSWORD_PROBLEMS)
    pending: list[type[MamoriError]] = [MamoriError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls.code != MamoriError.code:
            codes.add(cls.code)
    for path in (SOURCE / "web").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        codes.update(re.findall(r'problem\(\s*[\w.]+,\s*"([a-z_]+)"', text))
        codes.update(re.findall(r'"code": "([a-z_]+)"', text))
        codes.update(re.findall(r'\d{3}: "([a-z_]+)"', text))
    return codes


def test_every_error_code_is_listed(site: Path) -> None:
    markup = page(site, "developers/errors")
    listed = set(re.findall(r"<tr>\s*<td><code>([a-z_]+)</code></td>", markup))
    codes = error_codes_in_code()
    assert {"invalid_code", "code_already_used", "too_many_attempts"} <= codes
    assert not codes - listed, f"the error code list lacks: {sorted(codes - listed)}"


# --- routes and the API ---------------------------------------------------------------


def app_routes() -> list[tuple[str, str]]:
    with tempfile.TemporaryDirectory() as data:
        app = create_app(Settings(data_dir=Path(data)))
        return [
            (method, route.path)
            for route in routes(app)
            for method in sorted(route.methods)
            if method != "HEAD"
        ]


def test_every_api_operation_is_in_the_api_reference(site: Path) -> None:
    reference = text_of(page(site, "developers/api-reference"))
    missing = [
        f"{method} {path}"
        for method, path in app_routes()
        if path.startswith("/api/") and f"{method} {path}" not in reference
    ]
    assert not missing, "the API reference lacks: " + ", ".join(missing)


def test_every_route_is_on_the_route_list(site: Path) -> None:
    listed = text_of(page(site, "developers/routes"))
    missing = [
        f"{method} {path}"
        for method, path in app_routes()
        if path not in listed or method not in listed
    ]
    assert not missing, "the route list lacks: " + ", ".join(missing)


def test_the_site_carries_the_apps_openapi_schema(site: Path) -> None:
    with tempfile.TemporaryDirectory() as data:
        schema = create_app(Settings(data_dir=Path(data))).openapi()
    assert json.loads((site / "openapi.json").read_text(encoding="utf-8")) == schema


# --- metrics --------------------------------------------------------------------------


def test_every_metric_is_on_the_observability_page(site: Path) -> None:
    from prometheus_client import REGISTRY

    error_codes_in_code()  # imports every module, so every metric is registered
    names = {
        metric.name + ("_total" if metric.type == "counter" else "")
        for metric in REGISTRY.collect()
        if metric.name.startswith("mamori_")
    }
    assert "mamori_logins_total" in names
    listed = text_of(page(site, "operators/observability"))
    assert not {n for n in names if n not in listed}, "the metrics list lacks: " + ", ".join(
        sorted(n for n in names if n not in listed)
    )


# --- languages and the offline rule ---------------------------------------------------


def test_every_page_for_people_is_also_in_japanese(site: Path) -> None:
    for source in sorted((DOCS / "people").glob("*.md")):
        if source.name.endswith(".ja.md"):
            continue
        japanese = source.with_name(source.stem + ".ja.md")
        assert japanese.exists(), f"{source.relative_to(ROOT)} has no Japanese page"
        built = page(site, f"ja/people/{source.stem}")
        assert '<html lang="ja"' in built
        assert len(JAPANESE.findall(text_of(built))) > 200


def test_japanese_pages_use_japanese_punctuation() -> None:
    problems = []
    for source in sorted(DOCS.rglob("*.ja.md")):
        prose = re.sub(
            r"```.*?```|`[^`]*`|\]\([^)]*\)|<[^>]+>", "", source.read_text("utf-8"), flags=re.S
        )
        for number, line in enumerate(prose.splitlines(), 1):
            if re.search(r"。 ", line):
                problems.append(f"{source.name}:{number}: a half-width space after 。")
            if re.search(r"[\u3040-\u30ff\u4e00-\u9fff][,.!?:;]", line):
                problems.append(f"{source.name}:{number}: half-width punctuation after Japanese")
    assert not problems, "\n".join(problems)


def test_no_page_loads_anything_from_another_site(site: Path) -> None:
    outside = []
    for path in site.rglob("*.html"):
        markup = path.read_text(encoding="utf-8")
        for tag in re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", markup):
            if re.search(r'(?:src|href)="(?:https?:)?//', tag) and 'rel="canonical"' not in tag:
                outside.append(f"{path.relative_to(site)}: {tag[:120]}")
    assert not outside, "pages load from other sites (the docs must work offline):\n" + (
        "\n".join(outside[:20])
    )
