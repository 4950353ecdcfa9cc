"""Every page and message exists in Japanese.

The scan finds what a user can read: `_("…")` in templates and Python, error titles and
details, and the subjects and bodies of security alerts. To list what still needs a
translation, as entries ready to paste into the catalog:

    .venv/bin/python -m tests.test_i18n
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

from jinja2 import Environment, nodes

from mamori.core import i18n

PACKAGE = Path(i18n.__file__).resolve().parent.parent
CATALOG = PACKAGE / "locales" / "ja" / "LC_MESSAGES" / "messages.po"
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


if __name__ == "__main__":
    for message, places in sorted(untranslated().items()):
        print(po_entry(message, places))
