"""Every page and message exists in Japanese.

The scan finds what a user can read: `_("…")` in templates and Python, error titles and
details, and the subjects and bodies of security alerts. `pybabel extract` with babel.cfg
(the command is at its top) must find nothing the catalogs lack either. To list what still
needs a translation, as entries ready to paste into the catalog:

    .venv/bin/python -m tests.test_i18n

The catalogs are one per feature (every .po in locales/ja/LC_MESSAGES is read): a message
id lives in exactly one of them, and none is fuzzy.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_keywords, parse_mapping_cfg
from babel.messages.pofile import read_po
from jinja2 import Environment, nodes

from mamori.core import i18n

PACKAGE = Path(i18n.__file__).resolve().parent.parent
CATALOG = PACKAGE / "locales" / "ja" / "LC_MESSAGES" / "messages.po"
CATALOGS = CATALOG.parent
BABEL_CFG = PACKAGE.parent.parent / "babel.cfg"
# The same keywords as babel.cfg's command: `_` is gettext, and ngettext with 3 arguments.
KEYWORDS = {**DEFAULT_KEYWORDS, **parse_keywords(["_", "_:1,2,3t"])}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def template_messages() -> Iterator[tuple[str, str]]:
    environment = Environment(autoescape=True)
    for path in sorted(PACKAGE.glob("**/templates/**/*.html")):
        tree = environment.parse(path.read_text(encoding="utf-8"))
        for call in tree.find_all(nodes.Call):
            if isinstance(call.node, nodes.Name) and call.node.name == "_" and call.args:
                first = call.args[0]
                if isinstance(first, nodes.Const) and isinstance(first.value, str):
                    yield first.value, f"{path.relative_to(PACKAGE)}:{call.lineno}"


def _literal(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


# Which arguments of a function are an alert's subject and body: (positions, keywords).
AlertArguments = dict[str, tuple[list[int], set[str]]]
ALERT_USER: AlertArguments = {
    "alert_user": ([3, 4], {"subject", "body"}),
    # Alert("subject", "body"): the messages.py of a feature
    "Alert": ([0, 1], {"subject", "body"}),
}


def _alert_helpers(trees: list[ast.Module]) -> AlertArguments:
    """alert_user, and every function that hands its own parameters on as subject and body."""
    found = dict(ALERT_USER)
    functions = [
        node
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name not in found
    ]
    for function in functions:
        parameters = [a.arg for a in function.args.posonlyargs + function.args.args]
        for call in ast.walk(function):
            if not (isinstance(call, ast.Call) and _call_name(call) == "alert_user"):
                continue
            passed = [call.args[i] for i in ALERT_USER["alert_user"][0] if i < len(call.args)]
            passed += [kw.value for kw in call.keywords if kw.arg in {"subject", "body"}]
            names = {arg.id for arg in passed if isinstance(arg, ast.Name)} & set(parameters)
            if names:
                found[function.name] = ([parameters.index(n) for n in names], names)
    return found


def _python_literals(
    tree: ast.Module, user_errors: set[str], alerts: AlertArguments
) -> Iterator[tuple[str, int]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _call_name(node)
            # _("…") wherever a translator is bound to `_`.
            if name == "_" and node.args:
                text = _literal(node.args[0])
                if text is not None:
                    yield text, node.lineno
            # alert_user(db, clock, user, subject, body, …) and helpers that pass theirs on
            if name in alerts:
                positions, keywords = alerts[name]
                candidates = [node.args[i] for i in positions if i < len(node.args)] + [
                    kw.value for kw in node.keywords if kw.arg in keywords
                ]
                for candidate in candidates:
                    text = _literal(candidate)
                    if text is not None:
                        yield text, node.lineno
            # SomeError("a detail shown to the user") / SomeError(detail="…")
            if name in user_errors:
                for candidate in node.args[:1] + [
                    kw.value for kw in node.keywords if kw.arg == "detail"
                ]:
                    text = _literal(candidate)
                    if text is not None:
                        yield text, node.lineno
        # class SomeError(MamoriError): code, status, title = "…", 400, "the title"
        if isinstance(node, ast.ClassDef) and node.name in user_errors:
            for statement in node.body:
                yield from _title(statement)
    # PASSWORD_PROBLEMS = {"code": "what the user reads", …}: module-level tables of details
    for statement in tree.body:
        if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Dict):
            names = [t.id for t in statement.targets if isinstance(t, ast.Name)]
            if any(name.endswith("PROBLEMS") for name in names):
                for value in statement.value.values:
                    text = _literal(value)
                    if text is not None:
                        yield text, value.lineno


def _user_error_classes(trees: list[ast.Module]) -> set[str]:
    """Names of every MamoriError subclass: what they say reaches the user."""
    bases: dict[str, set[str]] = {}
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                bases.setdefault(node.name, set()).update(
                    base.id if isinstance(base, ast.Name) else getattr(base, "attr", "")
                    for base in node.bases
                )
    found = {"MamoriError"}
    while True:
        more = {name for name, parents in bases.items() if parents & found} - found
        if not more:
            return found
        found |= more


def _title(statement: ast.stmt) -> Iterator[tuple[str, int]]:
    if isinstance(statement, ast.Assign):
        targets, value = statement.targets, statement.value
    elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
        targets, value = [statement.target], statement.value
    else:
        return
    for target in targets:
        if isinstance(target, ast.Name) and target.id == "title":
            text = _literal(value)
            if text is not None:
                yield text, statement.lineno
        if isinstance(target, ast.Tuple) and isinstance(value, ast.Tuple):
            for name, item in zip(target.elts, value.elts, strict=False):
                text = _literal(item)
                if isinstance(name, ast.Name) and name.id == "title" and text is not None:
                    yield text, statement.lineno


def python_messages() -> Iterator[tuple[str, str]]:
    sources = {
        path: ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for path in sorted(PACKAGE.glob("**/*.py"))
        if "migrations" not in path.parts
    }
    user_errors = _user_error_classes(list(sources.values()))
    alerts = _alert_helpers(list(sources.values()))
    for path, tree in sources.items():
        for text, line in _python_literals(tree, user_errors, alerts):
            yield text, f"{path.relative_to(PACKAGE)}:{line}"


def user_visible_messages() -> dict[str, list[str]]:
    """Every message id with the places it is used."""
    found: dict[str, list[str]] = {}
    for text, where in [*template_messages(), *python_messages()]:
        if text.strip():
            found.setdefault(text, []).append(where)
    return found


def japanese_catalog() -> dict[str, str]:
    """Every ja catalog file together (messages.po and one per feature)."""
    i18n._catalog.cache_clear()
    return i18n._catalog("ja")


def untranslated() -> dict[str, list[str]]:
    catalog = japanese_catalog()
    return {text: where for text, where in user_visible_messages().items() if text not in catalog}


def po_entry(text: str, where: list[str]) -> str:
    def quoted(value: str) -> str:
        escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
        return f'"{escaped}"'

    return f'#: {" ".join(where[:3])}\nmsgid {quoted(text)}\nmsgstr ""\n'


def test_the_scan_finds_the_pages_and_errors_a_user_reads():
    messages = user_visible_messages()
    # A template string, an error title and an alert subject: if the scan breaks, this fails.
    assert "Log in" in messages
    assert "The login or password isn't right" in messages
    assert "Your password was changed" in messages
    assert "You got new backup codes" in messages  # through backup_codes' own alert helper


def test_every_user_visible_message_has_a_japanese_translation():
    missing = untranslated()
    listing = "\n".join(po_entry(text, where) for text, where in sorted(missing.items()))
    assert not missing, (
        f"{len(missing)} message(s) have no Japanese translation in "
        f"{CATALOG.relative_to(PACKAGE.parent)}; add these entries:\n\n{listing}"
    )


def test_translations_keep_every_placeholder_and_read_as_japanese():
    broken = []
    for text, translation in japanese_catalog().items():
        if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(translation)):
            broken.append(f"{text!r}: placeholders differ in {translation!r}")
        elif not JAPANESE.search(translation):
            broken.append(f"{text!r}: {translation!r} has no Japanese in it")
    assert not broken, "\n".join(broken)


def test_a_browser_that_prefers_japanese_gets_the_login_page_in_japanese(client):
    page = client.get("/login", headers={"Accept-Language": "ja,en-US;q=0.8,en;q=0.5"})
    assert page.status_code == 200
    assert '<html lang="ja">' in page.text
    assert "ログイン" in page.text
    assert "Username, e-mail or phone number" not in page.text


def test_english_stays_english(client):
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en">' in page.text
    assert "Log in" in page.text
    assert "ログイン" not in page.text


def test_an_error_on_a_page_is_in_japanese(client):
    login_page = client.get("/login", headers={"Accept-Language": "ja"})
    token = re.search(r'name="csrf_token" value="([^"]+)"', login_page.text)
    assert token
    answer = client.post(
        "/login",
        data={"csrf_token": token.group(1), "login": "nobody", "password": "wrong password"},
        headers={"Accept-Language": "ja"},
    )
    assert answer.status_code == 401
    alert = re.search(r'role="alert">([^<]+)<', answer.text)
    assert alert
    assert alert.group(1) == japanese_catalog()["The login or password isn't right"]


def ja_catalogs() -> dict[str, Catalog]:
    """Each Japanese catalog file by name: messages.po and one per feature (pages_*.po too)."""
    found = {}
    for path in sorted(CATALOGS.glob("*.po")):
        with path.open("rb") as handle:
            found[path.name] = read_po(handle, locale="ja")
    return found


def babel_extracted() -> dict[str, str | None]:
    """What `pybabel extract -F babel.cfg` finds: each message id, with its plural if any."""
    with BABEL_CFG.open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)  # type: ignore[no-untyped-call]
    found: dict[str, str | None] = {}
    for _file, _line, message, _comments, _context in extract_from_dir(
        PACKAGE, method_map, options_map, keywords=KEYWORDS
    ):
        if isinstance(message, str):
            found.setdefault(message, None)
        else:
            found[message[0]] = message[1]
    return found


def test_pybabel_extract_finds_no_message_the_japanese_catalogs_lack():
    extracted = babel_extracted()
    # Sanity: a page's message and a plural pair are both found.
    assert "Log in" in extracted
    assert extracted["%(count)s file"] == "%(count)s files"
    plurals = {
        message.id[0]: message.id[1]
        for catalog in ja_catalogs().values()
        for message in catalog
        if isinstance(message.id, tuple)
    }
    catalog = japanese_catalog()
    missing = sorted(text for text in extracted if text.strip() and text not in catalog)
    assert not missing, "pybabel extract finds these, untranslated:\n" + "\n".join(missing)
    not_plural = sorted(
        text for text, plural in extracted.items() if plural and plurals.get(text) != plural
    )
    assert not not_plural, "used with a count, but no msgid_plural entry: " + ", ".join(not_plural)


def test_no_japanese_entry_is_fuzzy_or_empty():
    found = [
        f"{name}:{message.lineno} {message.id!r}"
        for name, catalog in ja_catalogs().items()
        for message in catalog
        if message.id
        and (
            message.fuzzy
            or not all(message.string if isinstance(message.string, tuple) else [message.string])
        )
    ]
    assert not found, (
        "fuzzy or untranslated entries (translate them, drop the flag):\n" + "\n".join(found)
    )


def test_each_message_id_lives_in_one_catalog_only():
    homes: dict[str, list[str]] = {}
    for name, catalog in ja_catalogs().items():
        for message in catalog:
            if message.id:
                msgid = message.id if isinstance(message.id, str) else message.id[0]
                homes.setdefault(msgid, []).append(name)
    shared = {msgid: names for msgid, names in homes.items() if len(names) > 1}
    assert not shared, "\n".join(f"{msgid!r} in {', '.join(n)}" for msgid, n in shared.items())


def test_a_count_reads_as_english_plural_and_one_japanese_form():
    english, japanese = i18n.translator("en"), i18n.translator("ja")
    assert english("%(count)s file", "%(count)s files", 1) == "1 file"
    assert english("%(count)s file", "%(count)s files", 3) == "3 files"
    assert english("%(count)s file", "%(count)s files", 0) == "0 files"
    assert japanese("%(count)s file", "%(count)s files", 1) == "ファイル1件"
    assert japanese("%(count)s file", "%(count)s files", 3) == "ファイル3件"


def test_the_support_form_counts_its_files_in_both_languages(client):
    path = client.app.url_path_for("open_case_page")
    english = client.get(path, headers={"Accept-Language": "en"})
    assert "Up to 3 files: JPEG, PNG or PDF" in english.text
    japanese = client.get(path, headers={"Accept-Language": "ja"})
    assert "添付できるファイルは3件まで" in japanese.text


if __name__ == "__main__":
    for message, places in sorted(untranslated().items()):
        print(po_entry(message, places))
