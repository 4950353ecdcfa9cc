"""The Japanese reads as written in Japanese: the banned forms of locales/GLOSSARY.md.

Every catalog is read (messages.po, the per-feature catalogs, pages_*.po), so a new one
is held to the same words as the old ones."""

from __future__ import annotations

import re

import pytest

from mamori.core import i18n
from tests.test_i18n import ja_catalogs

JAPANESE = "\u3040-\u30ff\u4e00-\u9fff"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")
BANNED = {
    "自分ではない (say 心当たりがない)": re.compile("自分ではない"),
    "復元 for account recovery (say 復旧)": re.compile("復元"),
    "a half-width space after 。": re.compile("。 "),
    "an ASCII comma between Japanese characters (say 、)": re.compile(
        f"[{JAPANESE}] ?, ?[{JAPANESE}]"
    ),
    "an ASCII colon after Japanese (say ：)": re.compile(f"[{JAPANESE}」）] ?:"),
    "an app that receives codes (say 認証アプリでコードを確認)": re.compile(
        "アプリでコードを受け取"
    ),
    "a dangling さらにヘルプが必要な場合": re.compile("さらにヘルプが必要な場合"),
}


def japanese_strings() -> list[tuple[str, str, str]]:
    found = []
    for name, catalog in ja_catalogs().items():
        for message in catalog:
            if not message.id:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            forms = message.string if isinstance(message.string, tuple) else (message.string,)
            found += [(name, msgid, str(form)) for form in forms]
    return found


@pytest.mark.parametrize("problem", sorted(BANNED))
def test_no_catalog_uses_a_banned_form(problem):
    pattern = BANNED[problem]
    found = [
        f"{name}: {msgid!r} → {text!r}"
        for name, msgid, text in japanese_strings()
        if pattern.search(PLACEHOLDER.sub("", text))
    ]
    assert not found, f"{problem}:\n" + "\n".join(found)


def test_the_glossary_words_reach_the_pages(client):
    japanese = i18n.translator("ja")
    assert japanese("This wasn't me") == "心当たりがない"
    assert "認証アプリでコードを確認" in japanese(
        "Get codes from an app like Google Authenticator, Authy or 1Password."
    )
    assert japanese("Need more help?") == "ログインできないときの復旧方法を見る"
    page = client.get("/login", headers={"Accept-Language": "ja"})
    assert "。 " not in page.text


def test_a_sentence_ends_with_a_full_stop_in_japanese_too():
    # An English sentence ending in "." reads as a sentence in Japanese: it ends in 。
    found = [
        f"{name}: {msgid!r} → {text!r}"
        for name, msgid, text in japanese_strings()
        if msgid.rstrip().endswith(".") and not text.rstrip().endswith(("。", "）", ")"))
    ]
    assert not found, "\n".join(found)
