"""MkDocs hook: the reference pages are written from mamori's own code at build time.

A page asks for a generated part with a marker on a line of its own, e.g.
`<!-- mamori:settings -->`; the hook replaces it with Markdown built from:

| marker | built from |
| --- | --- |
| `settings` | `mamori.settings.Settings`: every field, its default and what it accepts |
| `cli` | the typer app in `mamori.cli`: every command, argument and option |
| `audit-events` | every `record_event(...)` call in `src/mamori` (read with `ast`) |
| `error-codes` | every `MamoriError` subclass, and the codes `web/` answers with directly |
| `api-reference` | the app's OpenAPI schema (`create_app(...).openapi()`) |
| `routes` | every route the app serves: pages, probes and the API |
| `metrics` | every Prometheus metric defined in `src/mamori` |
| `bench-results`, `bench-peer` | the latest figures in `bench/results/` |

What only a person can say (what a setting or an audit event is for) lives beside this
file in `settings.yml` and `audit_events.yml`. A setting or event the code has and those
files lack is a warning, so `mkdocs build --strict` fails until someone describes it; it
still appears in the page meanwhile. An unknown marker is an error.
"""

from __future__ import annotations

import ast
import enum
import functools
import importlib
import inspect
import json
import logging
import pkgutil
import re
import shutil
import tempfile
import textwrap
import types
import typing
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import annotated_types
import yaml
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page
from pydantic_core import PydanticUndefined

log = logging.getLogger("mkdocs.hooks.mamori_docs")

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SOURCE = ROOT / "src" / "mamori"
BENCH_RESULTS = ROOT / "bench" / "results"
MARKER = re.compile(r"^<!--\s*mamori:([a-z-]+)\s*-->\s*$", re.M)


# --------------------------------------------------------------------------------------
# MkDocs events


_generated: dict[str, str] = {}
_openapi: dict[str, Any] = {}
_scratch: list[Path] = []


_inputs_seen: list[float] = []


def _inputs_changed() -> bool:
    """The code, the descriptions and the bench results, newest change first. The parts
    are rebuilt only when one changed: mkdocs-static-i18n runs this event once per
    language, and `mkdocs serve` on every edit of a page."""
    paths = [*SOURCE.rglob("*.py"), *HERE.glob("*.yml"), *BENCH_RESULTS.glob("*.md")]
    newest = max(path.stat().st_mtime for path in paths)
    if _inputs_seen and _inputs_seen[0] == newest and _generated:
        return False
    _inputs_seen[:] = [newest]
    return True


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    """Build every generated part once, so each page and language gets the same text."""
    if not _inputs_changed():
        return config
    _generated.clear()
    _app.cache_clear()
    schema = openapi_schema()
    _openapi.clear()
    _openapi.update(schema)
    builders: dict[str, Callable[[], str]] = {
        "settings": settings_reference,
        "cli": cli_reference,
        "audit-events": audit_event_reference,
        "error-codes": error_code_reference,
        "api-reference": lambda: api_reference(schema),
        "routes": route_reference,
        "metrics": metric_reference,
        "bench-results": lambda: bench_results("mamori.md"),
        "bench-peer": lambda: bench_results("peer-postgresql.md", "peer-sqlite.md"),
    }
    for name, build in builders.items():
        _generated[name] = build()
    return config


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in _generated:
            raise PluginError(f"{page.file.src_uri}: no generated part named '{name}'")
        return _generated[name]

    return MARKER.sub(replace, markdown)


def on_files(files: Files, config: MkDocsConfig) -> Files:
    """The schema itself, beside the pages (`openapi.json`), for tools that read OpenAPI."""
    # A real file in a directory of its own: mkdocs-static-i18n needs a source path.
    directory = Path(tempfile.mkdtemp(prefix="mamori-docs-"))
    _scratch.append(directory)
    path = directory / "openapi.json"
    path.write_text(json.dumps(_openapi, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    files.append(File("openapi.json", str(directory), config.site_dir, config.use_directory_urls))
    return files


def on_post_build(config: MkDocsConfig) -> None:
    while _scratch:
        shutil.rmtree(_scratch.pop(), ignore_errors=True)


# --------------------------------------------------------------------------------------
# Small Markdown helpers


def cell(text: object) -> str:
    """One table cell: no line breaks, no bare pipes."""
    return " ".join(str(text).split()).replace("|", "\\|")


def code(text: object) -> str:
    return f"`{text}`"


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def load_yaml(name: str) -> Any:
    return yaml.safe_load((HERE / name).read_text(encoding="utf-8"))


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


# --------------------------------------------------------------------------------------
# Settings


def settings_reference() -> str:
    from mamori.settings import Settings

    described = load_yaml("settings.yml")
    fields = Settings.model_fields
    placed: set[str] = set()
    parts: list[str] = []
    for section in described["sections"]:
        rows = []
        for name, about in section["settings"].items():
            if name not in fields:
                log.warning("settings.yml describes '%s', which Settings does not have", name)
                continue
            placed.add(name)
            rows.append(_setting_row(name, fields[name], about))
        parts.append(f"### {section['title']}\n\n")
        if section.get("intro"):
            parts.append(section["intro"].strip() + "\n\n")
        parts.append(table(["variable", "default", "accepts", "what it does"], rows) + "\n")
    left = [name for name in fields if name not in placed]
    if left:
        for name in left:
            log.warning("Setting '%s' has no description in docs/hooks/settings.yml", name)
        rows = [_setting_row(name, fields[name], {}) for name in left]
        parts.append("### Not yet described\n\n")
        parts.append(table(["variable", "default", "accepts", "what it does"], rows))
    return "".join(parts)


def _setting_row(name: str, info: Any, about: dict[str, str] | str) -> list[str]:
    if isinstance(about, str):
        about = {"does": about}
    variable = code(f"MAMORI_{name.upper()}")
    default = setting_default(name, info, about.get("default"))
    return [variable, default, accepts(name, info), about.get("does", "")]


def setting_default(name: str, info: Any, note: str | None = None) -> str:
    """The default as an operator would type it: `true`, `10080` (7 days), *(none)*."""
    default = info.default
    if default is PydanticUndefined and info.default_factory is not None:
        default = info.default_factory()
    if default is None or default == [] or default is PydanticUndefined:
        return f"*({note or 'none'})*"
    shown = code(str(default).lower()) if isinstance(default, bool) else code(default)
    hint = _human_size(name, default)
    if note:
        hint = f"{hint}; {note}" if hint else note
    return f"{shown} ({hint})" if hint else shown


def _human_size(name: str, value: object) -> str:
    """`10080` minutes is 7 days; `5242880` bytes is 5 MiB."""
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    if name.endswith("_minutes") and value >= 60:
        days, hours = divmod(value, 24 * 60)
        if days and not hours:
            return f"{days} day{'s' if days > 1 else ''}"
        if not value % 60:
            return f"{value // 60} hours"
    if name.endswith("_seconds") and value >= 60 and not value % 60:
        return f"{value // 60} minutes"
    if name.endswith("_bytes") and value >= 1024:
        for unit, size in (("MiB", 1024 * 1024), ("KiB", 1024)):
            if not value % size:
                return f"{value // size} {unit}"
    return ""


def accepts(name: str, info: Any) -> str:
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    optional = type(None) in typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and len(args) == 1:
        annotation = args[0]
    if typing.get_origin(annotation) is typing.Literal:
        text = "one of " + ", ".join(code(v) for v in typing.get_args(annotation))
    elif annotation is bool:
        text = "`true` or `false`"
    elif annotation in (int, float):
        text = "a whole number" if annotation is int else "a number"
        bounds = _bounds(info.metadata)
        if bounds:
            text += f", {bounds}"
    elif annotation is Path:
        text = "a file" if name.endswith("_file") else "a directory"
    elif typing.get_origin(annotation) is list:
        text = "comma-separated values"
    else:
        text = "text"
        length = _bounds(info.metadata, unit=" characters")
        if length:
            text += f", {length}"
    if optional:
        text += "; unset by default"
    return text


def _bounds(metadata: list[Any], unit: str = "") -> str:
    low: Any = None
    high: Any = None
    strict_low = False
    for item in metadata:
        if isinstance(item, annotated_types.Ge):
            low = item.ge
        elif isinstance(item, annotated_types.Gt):
            low, strict_low = item.gt, True
        elif isinstance(item, annotated_types.Le):
            high = item.le
        elif isinstance(item, annotated_types.MinLen):
            low = item.min_length
        elif isinstance(item, annotated_types.MaxLen):
            high = item.max_length
    if low is not None and high is not None and not strict_low:
        return f"{low}–{high}{unit}"
    if low is not None:
        return f"more than {low}{unit}" if strict_low else f"at least {low}{unit}"
    if high is not None:
        return f"at most {high}{unit}"
    return ""


# --------------------------------------------------------------------------------------
# The command line


@dataclass
class Command:
    path: list[str]
    help: str
    params: list[Any]
    is_group: bool
    subcommands: list[str] = field(default_factory=list)


def cli_commands() -> list[Command]:
    """Every command of `mamori`, depth first, as click sees it (typer builds the tree)."""
    import typer.main

    from mamori.cli import app

    found: list[Command] = []

    def walk(command: Any, path: list[str]) -> None:
        children = getattr(command, "commands", None)
        params = [p for p in command.params if not getattr(p, "hidden", False)]
        params = [p for p in params if p.name not in ("install_completion", "show_completion")]
        found.append(
            Command(path, inspect.cleandoc(command.help or ""), params, children is not None)
        )
        if children is not None:
            found[-1].subcommands = sorted(children)
            for name in sorted(children):
                walk(children[name], [*path, name])

    walk(typer.main.get_command(app), ["mamori"])
    return found


def cli_reference() -> str:
    # For commands whose function has no docstring (their --help is empty too).
    described: dict[str, str] = load_yaml("cli.yml") or {}
    parts = []
    for command in cli_commands():
        name = " ".join(command.path)
        level = "#" * min(2 + len(command.path) - 1, 4)
        parts.append(f"{level} `{name}`\n\n")
        parts.append(f"```text\n{_usage(command)}\n```\n\n")
        about = command.help or described.get(name, "")
        if about:
            parts.append(_as_markdown(about) + "\n\n")
        else:
            log.warning("`%s` has no help text: a docstring, or a line in cli.yml", name)
        if command.is_group:
            rows = [[code(f"{name} {sub}")] for sub in command.subcommands]
            parts.append(table(["command"], rows) + "\n")
        elif command.params:
            rows = [[_param_name(p), _param_meaning(p), _param_default(p)] for p in command.params]
            parts.append(table(["argument or option", "what it is", "default"], rows) + "\n")
    return "".join(parts)


def _as_markdown(help_text: str) -> str:
    """Docstrings are written for a terminal; their single newlines are soft wraps."""
    paragraphs = [" ".join(p.split()) for p in help_text.split("\n\n")]
    return "\n\n".join(paragraphs)


def _usage(command: Command) -> str:
    name = " ".join(command.path)
    if command.is_group:
        return f"{name} COMMAND [ARGS]..."
    words = [name]
    for param in command.params:
        if _is_argument(param):
            words.append((param.metavar or param.name).upper())
    for param in command.params:
        if _is_argument(param):
            continue
        option = param.opts[0]
        text = option if getattr(param, "is_flag", False) else f"{option} {_metavar(param)}"
        words.append(text if param.required else f"[{text}]")
    return " ".join(words)


def _is_argument(param: Any) -> bool:
    return type(param).__name__.endswith("Argument")


def _annotation(param: Any) -> Any:
    descriptor = getattr(param, "type_descriptor", None)
    annotation = getattr(descriptor, "annotation", None)
    if annotation is None:
        annotation = getattr(getattr(param, "type", None), "name", None)
    return annotation


def _metavar(param: Any) -> str:
    annotation = _annotation(param)
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        return "|".join(str(member.value) for member in annotation)
    names = {int: "N", str: "TEXT", float: "X", Path: "PATH"}
    return param.metavar or names.get(annotation, "VALUE")


def _param_name(param: Any) -> str:
    if _is_argument(param):
        return code((param.metavar or param.name).upper())
    return ", ".join(code(option) for option in [*param.opts, *param.secondary_opts])


def _param_meaning(param: Any) -> str:
    text = param.help or ""
    annotation = _annotation(param)
    extra = []
    if inspect.isclass(annotation) and issubclass(annotation, enum.Enum):
        extra.append("one of " + ", ".join(code(member.value) for member in annotation))
    low, high = getattr(param, "min", None), getattr(param, "max", None)
    if low is not None and high is not None:
        extra.append(f"{low}–{high}")
    elif low is not None:
        extra.append(f"at least {low}")
    if param.required:
        extra.append("required")
    if not text and _is_argument(param):
        text = {"username": "the account's username", "reference": "the case reference"}.get(
            param.name, param.name.replace("_", " ")
        )
    if not text and not getattr(param, "is_flag", False):
        text = {"limit": "at most this many"}.get(param.name, "")
    return "; ".join(part for part in [text, *extra] if part)


def _param_default(param: Any) -> str:
    if param.required or _is_argument(param):
        return ""
    default = param.default
    if default is None:
        return ""
    if isinstance(default, bool):
        return "off" if not default else "on"
    if isinstance(default, enum.Enum):
        default = default.value
    return code(default)


# --------------------------------------------------------------------------------------
# Audit events


@dataclass
class Recorded:
    where: set[str] = field(default_factory=set)
    outcomes: set[str] = field(default_factory=set)


def _python_files() -> Iterator[Path]:
    for path in sorted(SOURCE.rglob("*.py")):
        if "migrations" not in path.relative_to(SOURCE).parts:
            yield path


def audit_events() -> dict[str, Recorded]:
    """Every event name a `record_event(db, clock, EVENT, ...)` call can write.

    A literal name is taken as it is; `failed_event="..."` (the one verify function's
    steps) too; an f-string like f"contact.{kind}_changed" is expanded over the module's
    `KINDS` tuple. Any other computed name stops the build: the list must be complete.
    """
    events: dict[str, Recorded] = defaultdict(Recorded)
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        module = str(path.relative_to(SOURCE.parent)).removesuffix(".py").replace("/", ".")
        constants = _module_tuples(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            for keyword in node.keywords:
                failed = _text(keyword.value) if keyword.arg == "failed_event" else None
                if failed:
                    entry = events[failed]
                    entry.where.add(module)
                    entry.outcomes.add("failure")
            if _called(node) != "record_event":
                continue
            argument = node.args[2] if len(node.args) > 2 else None
            if argument is None:
                argument = next((k.value for k in node.keywords if k.arg == "event"), None)
            outcome = next(
                (k.value for k in node.keywords if k.arg == "outcome"), ast.Constant("success")
            )
            names = _event_names(argument, constants, path, node)
            for name in names:
                events[name].where.add(module)
                if isinstance(outcome, ast.Constant):
                    events[name].outcomes.add(str(outcome.value))
                else:
                    events[name].outcomes.update({"success", "failure"})
    return dict(sorted(events.items()))


def _called(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Name):
        return node.func.id
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    return None


def _module_tuples(tree: ast.Module) -> dict[str, tuple[str, ...]]:
    found = {}
    for node in tree.body:
        target = value = None
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            target, value = node.target.id, node.value
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target, value = node.targets[0].id, node.value
        if target and isinstance(value, ast.Tuple | ast.List):
            items = [_text(element) for element in value.elts]
            if all(items):
                found[target] = tuple(item for item in items if item)
    return found


def _event_names(
    argument: ast.expr | None, constants: dict[str, tuple[str, ...]], path: Path, node: ast.Call
) -> list[str]:
    if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
        return [argument.value]
    if isinstance(argument, ast.JoinedStr):
        names = [""]
        for piece in argument.values:
            if isinstance(piece, ast.Constant):
                names = [n + str(piece.value) for n in names]
                continue
            assert isinstance(piece, ast.FormattedValue)
            variable = ast.unparse(piece.value)
            values = constants.get(variable.upper() + "S")
            if values is None:
                raise PluginError(
                    f"{path}:{node.lineno}: the audit event name depends on '{variable}', "
                    f"and the module has no {variable.upper()}S tuple to list its values"
                )
            names = [n + v for n in names for v in values]
        return names
    if isinstance(argument, ast.Attribute) and argument.attr == "failed_event":
        return []  # the names are the `failed_event=` literals, collected above
    shown = ast.unparse(argument) if argument is not None else "nothing"
    raise PluginError(
        f"{path}:{node.lineno}: record_event with a computed event name ({shown}); "
        "name the event with a literal so the audit event list stays complete"
    )


def audit_event_reference() -> str:
    described: dict[str, str] = load_yaml("audit_events.yml")
    events = audit_events()
    for name in sorted(set(described) - set(events)):
        log.warning("audit_events.yml describes '%s', which no code records", name)
    groups: dict[str, list[list[str]]] = defaultdict(list)
    for name, recorded in events.items():
        about = described.get(name)
        if about is None:
            log.warning("Audit event '%s' has no description in docs/hooks/audit_events.yml", name)
            about = ""
        where = ", ".join(code(m) for m in sorted(recorded.where))
        outcomes = ", ".join(sorted(recorded.outcomes))
        groups[name.split(".")[0]].append([code(name), outcomes, about, where])
    parts = [f"mamori records **{len(events)}** kinds of event.\n\n"]
    for group, rows in groups.items():
        parts.append(f"### `{group}.*`\n\n")
        parts.append(table(["event", "outcome", "what happened", "recorded in"], rows) + "\n")
    return "".join(parts)


# --------------------------------------------------------------------------------------
# Error codes


@dataclass
class ErrorCode:
    statuses: set[int] = field(default_factory=set)
    titles: set[str] = field(default_factory=set)
    raised_by: set[str] = field(default_factory=set)
    notes: set[str] = field(default_factory=set)


def _import_everything() -> None:
    import mamori

    for module in pkgutil.walk_packages(mamori.__path__, "mamori."):
        if ".migrations" not in module.name:
            importlib.import_module(module.name)


def error_codes() -> dict[str, ErrorCode]:
    """Every `code` a problem+json answer can carry: the named errors, and the few answers
    web/ builds directly (413, 431, 405, 500 ...)."""
    from mamori.core.errors import MamoriError

    _import_everything()
    codes: dict[str, ErrorCode] = defaultdict(ErrorCode)
    pending = [MamoriError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        if cls is MamoriError:
            continue
        if cls.code == MamoriError.code:
            if cls.__subclasses__():
                continue  # a base such as ContactProblem: its subclasses name the codes
            for name, title in _codes_set_at_raise(cls).items():
                entry = codes[name]
                entry.statuses.add(cls.status)
                entry.titles.add(title)
                entry.raised_by.add(f"{cls.__module__}.{cls.__qualname__}")
            continue
        entry = codes[cls.code]
        entry.statuses.add(cls.status)
        entry.titles.add(cls.title)
        entry.raised_by.add(f"{cls.__module__}.{cls.__qualname__}")
        if cls.__doc__ and "code" not in vars(cls):
            # A subclass that keeps its parent's code: its docstring says when it is used.
            entry.notes.add(" ".join(cls.__doc__.split()))
    for path in _python_files():
        for code_name, status, written_title in _literal_problems(path):
            entry = codes[code_name]
            if status:
                entry.statuses.add(status)
            if written_title:
                entry.titles.add(written_title)
            entry.raised_by.add(str(path.relative_to(SOURCE.parent)))
    return dict(sorted(codes.items()))


def _codes_set_at_raise(cls: type) -> dict[str, str]:
    """An error whose code is chosen when it is raised (`WeakPassword("password_too_short")`)
    names its codes in a `..._PROBLEMS` table of its module: code -> message."""
    module = importlib.import_module(cls.__module__)
    for name, value in vars(module).items():
        if name.endswith("_PROBLEMS") and isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    log.warning("%s keeps the placeholder code 'error' and names no codes", cls.__qualname__)
    return {}


def _text(node: ast.expr | None) -> str | None:
    """A string literal's value, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _status(node: ast.expr | None) -> int | None:
    """An HTTP error status written as a literal, else None."""
    if isinstance(node, ast.Constant) and isinstance(node.value, int):
        return node.value if 400 <= node.value < 600 else None
    return None


def _literal_problems(path: Path) -> Iterator[tuple[str, int | None, str | None]]:
    """Codes written out in a module: `problem(404, "not_found", ...)`, a dict with a
    "code" key, and a {status: code} table with its `.get(..., "fallback")`."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    status_tables: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict):
            pairs = [(_status(k), _text(v)) for k, v in zip(*_items(node.value), strict=True)]
            if pairs and all(status and name for status, name in pairs):
                for status, name in pairs:
                    assert name is not None
                    yield name, status, None
                status_tables.update(t.id for t in node.targets if isinstance(t, ast.Name))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _called(node) == "problem" and len(node.args) >= 2:
            name = _text(node.args[1])
            if name:
                title = _text(node.args[2]) if len(node.args) > 2 else None
                yield name, _status(node.args[0]), title
        elif (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "get"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id in status_tables
            and len(node.args) == 2
        ):
            fallback = _text(node.args[1])
            if fallback:
                yield fallback, None, None
        elif isinstance(node, ast.Dict):
            fields = {_text(k): v for k, v in zip(*_items(node), strict=True)}
            name = _text(fields.get("code"))
            if name:
                yield name, _status(fields.get("status")), _text(fields.get("title"))


def _items(node: ast.Dict) -> tuple[list[ast.expr | None], list[ast.expr]]:
    return node.keys, node.values


def error_code_reference() -> str:
    codes = error_codes()
    described: dict[str, str] = load_yaml("error_codes.yml")
    for name in sorted(set(described) - set(codes)):
        log.warning("error_codes.yml describes '%s', which no code answers with", name)
    rows = []
    for name, entry in codes.items():
        statuses = ", ".join(str(s) for s in sorted(entry.statuses)) or "varies"
        titles = " / ".join(
            "“" + re.sub(r"%\((\w+)\)s", r"*\1*", t) + "”" for t in sorted(entry.titles)
        )
        notes = " ".join([*sorted(entry.notes), described.get(name, "")])
        raised = ", ".join(
            code(r.split(".")[-1] if "/" not in r else r) for r in sorted(entry.raised_by)
        )
        rows.append([code(name), statuses, f"{titles} {notes}".strip(), raised])
    intro = f"mamori answers with **{len(codes)}** codes.\n\n"
    return intro + table(["code", "status", "title (and when)", "raised by"], rows)


# --------------------------------------------------------------------------------------
# The API and every route


@functools.cache
def _app() -> Any:
    from mamori.app import create_app
    from mamori.settings import Settings

    with tempfile.TemporaryDirectory() as data:
        return create_app(Settings(data_dir=Path(data)))


def openapi_schema() -> dict[str, Any]:
    schema: dict[str, Any] = _app().openapi()
    return schema


def api_reference(schema: dict[str, Any]) -> str:
    components = schema.get("components", {}).get("schemas", {})
    by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = defaultdict(list)
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            tag = (operation.get("tags") or ["other"])[0]
            by_tag[tag].append((method.upper(), path, operation))
    parts = [
        f"{len(schema['paths'])} paths, "
        f"{sum(len(ops) for ops in by_tag.values())} operations, "
        f"OpenAPI {schema.get('openapi')}, API version {schema['info']['version']}. "
        "The same schema is served by mamori at `/openapi.json` and is "
        "[beside these pages](../openapi.json).\n\n"
    ]
    for tag in sorted(by_tag):
        parts.append(f"## {tag.capitalize()}\n\n")
        for method, path, operation in by_tag[tag]:
            parts.append(_operation(method, path, operation, components))
    parts.append("## Schemas\n\n")
    for name in sorted(components):
        parts.append(f"### {name} {{ #{slug('schema-' + name)} }}\n\n")
        described = components[name].get("description")
        if described:
            parts.append(" ".join(described.split()) + "\n\n")
        fields = _fields(components[name])
        if fields:
            parts.append(table(["field", "type", "required", "about"], fields) + "\n")
    return "".join(parts)


def _operation(
    method: str, path: str, operation: dict[str, Any], components: dict[str, Any]
) -> str:
    title = operation.get("summary") or operation.get("operationId", "")
    parts = [f"### `{method} {path}` {{ #{slug(method + ' ' + path)} }}\n\n", f"**{title}**"]
    if operation.get("security"):
        parts.append(" · needs `Authorization: Bearer <token>`")
    parts.append("\n\n")
    if operation.get("description"):
        parts.append(textwrap.dedent(operation["description"]).strip() + "\n\n")
    parameters = operation.get("parameters", [])
    if parameters:
        rows = [
            [
                code(p["name"]),
                p["in"],
                _type(p.get("schema", {})),
                "yes" if p.get("required") else "",
                p.get("description", ""),
            ]
            for p in parameters
        ]
        parts.append(table(["parameter", "in", "type", "required", "about"], rows) + "\n")
    body = operation.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            schema = content.get("schema", {})
            parts.append(f"Request body (`{media}`): {_type(schema)}\n\n")
            named = components.get(schema.get("$ref", "").rsplit("/", 1)[-1], {})
            fields = _fields(named)
            if fields:
                parts.append(table(["field", "type", "required", "about"], fields) + "\n")
    rows = []
    for status, response in operation.get("responses", {}).items():
        media = next(iter(response.get("content", {}) or {"": {}}))
        schema = (response.get("content") or {}).get(media, {}).get("schema", {})
        shape = _type(schema) if schema else ""
        rows.append([code(status), cell(response.get("description", "")), shape])
    parts.append(table(["status", "meaning", "body"], rows) + "\n")
    return "".join(parts)


def _type(schema: dict[str, Any]) -> str:
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        return f"[{name}](#{slug('schema-' + name)})"
    if "anyOf" in schema or "oneOf" in schema:
        options = schema.get("anyOf") or schema.get("oneOf") or []
        return " or ".join(_type(option) for option in options)
    if "enum" in schema:
        return " \\| ".join(code(json.dumps(v)) for v in schema["enum"])
    if "const" in schema:
        return code(json.dumps(schema["const"]))
    kind = schema.get("type")
    if kind == "array":
        return "array of " + _type(schema.get("items", {}))
    if isinstance(kind, list):
        return " or ".join(kind)
    if kind == "string" and schema.get("format"):
        return f"string ({schema['format']})"
    return str(kind or "any")


def _fields(schema: dict[str, Any]) -> list[list[str]]:
    required = set(schema.get("required", []))
    rows = []
    for name, spec in schema.get("properties", {}).items():
        about = spec.get("description") or spec.get("title", "")
        if about == name.replace("_", " ").title():
            about = ""
        rows.append([code(name), _type(spec), "yes" if name in required else "", about])
    return rows


def app_routes() -> list[tuple[str, str, str, Any]]:
    """(methods, path, name, endpoint) of every route, whichever way FastAPI keeps
    included routers."""

    def walk(items: Any) -> Iterator[Any]:
        for route in items:
            if hasattr(route, "effective_route_contexts"):
                yield from route.effective_route_contexts()
            elif hasattr(getattr(route, "original_router", None), "routes"):
                yield from walk(route.original_router.routes)
            else:
                yield route

    found = []
    for route in walk(_app().routes):
        methods = ", ".join(sorted(getattr(route, "methods", None) or []))
        if not methods or not hasattr(route, "path"):
            continue  # static file mounts
        endpoint = getattr(route, "endpoint", None)
        found.append((methods, route.path, getattr(route, "name", ""), endpoint))
    return found


def route_reference() -> str:
    pages, api, service = [], [], []
    for methods, path, name, endpoint in app_routes():
        about = inspect.getdoc(endpoint) if endpoint else ""
        first = _as_markdown(about or "").split("\n\n")[0]
        if path.startswith("/api/"):
            for method in methods.split(", "):
                link = (
                    f"[{code(method + ' ' + path)}](api-reference.md#{slug(method + ' ' + path)})"
                )
                api.append([link])
        elif name and endpoint and getattr(endpoint, "__module__", "").endswith(".views"):
            pages.append([code(methods), code(path), first])
        else:
            service.append([code(methods), code(path), first])
    return (
        "### Service endpoints\n\n"
        + table(["method", "path", "about"], service)
        + "\n### Pages\n\nEvery page answers in the person's language; a form posts back to its"
        " own page or the one it names.\n\n"
        + table(["method", "path", "about"], pages)
        + f"\n### JSON API\n\n{len(api)} operations, each described in the "
        "[API reference](api-reference.md).\n\n" + table(["operation"], api)
    )


# --------------------------------------------------------------------------------------
# Metrics


def metrics() -> list[Any]:
    """Every Prometheus metric a mamori module defines at module level."""
    import sys

    from prometheus_client.metrics import MetricWrapperBase

    _import_everything()
    found = {}
    for name, module in list(sys.modules.items()):
        if name == "mamori" or name.startswith("mamori."):
            for value in vars(module).values():
                if isinstance(value, MetricWrapperBase):
                    found[value._name] = value
    return [found[name] for name in sorted(found)]


def metric_reference() -> str:
    rows = []
    for metric in metrics():
        kind = metric._type
        name = metric._name + ("_total" if kind == "counter" else "")
        labels = ", ".join(code(label) for label in metric._labelnames)
        rows.append([code(name), kind, labels, metric._documentation])
    return table(["metric", "type", "labels", "counts"], rows)


# --------------------------------------------------------------------------------------
# Benchmarks


def bench_results(*names: str) -> str:
    parts = []
    for name in names:
        path = BENCH_RESULTS / name
        if not path.exists():
            log.warning("bench/results/%s is missing; run bench/run.py", name)
            continue
        text = _headings_from(3, path.read_text(encoding="utf-8"))
        parts.append(f"*From `bench/results/{name}`:*\n\n{text.strip()}\n\n")
    return "".join(parts)


def _headings_from(top: int, text: str) -> str:
    """Inside a page a result file sits under an h2: its own top heading becomes an h3."""
    levels = [len(h) for h in re.findall(r"^(#{1,6}) ", text, flags=re.M)]
    shift = top - min(levels) if levels else 0
    return re.sub(r"^(#{1,6}) ", lambda m: "#" * (len(m.group(1)) + shift) + " ", text, flags=re.M)
