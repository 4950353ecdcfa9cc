"""Text that users wrote, made safe for an operator's terminal.

A typed login, a file name or a User-Agent is whatever a stranger sent. Printed raw, an
ESC sequence can erase a line and write another ("ID CHECKED"), a CR can overwrite one,
a bidi override can reverse what follows. Every CLI line that shows such text goes
through `safe_text` (plain output) or `safe_json` (`--json`).
"""

from __future__ import annotations

import json
import unicodedata

# Controls (C0, DEL, C1), format characters (bidi overrides and isolates, zero-width
# joiners, tags), line and paragraph separators, lone surrogates.
_UNSAFE = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _unsafe(character: str) -> bool:
    return unicodedata.category(character) in _UNSAFE


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(character: str) -> str:
    if character in _NAMED:
        return _NAMED[character]
    code = ord(character)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def safe_text(value: object) -> str:
    """`value` as text with every control or format character written as an escape
    (`\\x1b`, `\\u202e`), so it shows what was sent and does nothing to the screen."""
    text = str(value)
    return "".join(_escaped(c) if _unsafe(c) else c for c in text)


def _json_escaped(character: str) -> str:
    code = ord(character)
    if code < 0x10000:
        return f"\\u{code:04x}"
    code -= 0x10000  # a UTF-16 surrogate pair, as JSON writes characters past U+FFFF
    return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"


def safe_json(row: object) -> str:
    """One JSON line, readable (non-ASCII kept) yet with no character a terminal acts
    on: json.dumps leaves C1 controls and bidi overrides raw unless told ensure_ascii."""
    text = json.dumps(row, ensure_ascii=False)
    return "".join(_json_escaped(c) if _unsafe(c) else c for c in text)
