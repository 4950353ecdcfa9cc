"""What the CLI prints of a stranger's text does nothing to the operator's terminal, and
`--json` lines still read back as the very text that was sent."""

from __future__ import annotations

import json
import unicodedata

from mamori.core.terminal import safe_json, safe_text

HOSTILE = "hana\x1b[2K\rID CHECKED\x07 \x9b31m \u202egnp.exe \u2028 \U000e0041 山田\u3000花"


def acts_on_a_terminal(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in {"Cc", "Cf", "Zl", "Zp"}]


def test_plain_output_shows_every_control_as_an_escape():
    shown = safe_text(HOSTILE)

    assert acts_on_a_terminal(shown) == []
    assert shown.startswith("hana\\x1b[2K\\rID CHECKED\\x07 \\x9b31m \\u202egnp.exe \\u2028")
    assert shown.endswith("\\U000e0041 山田\u3000花")  # Japanese text and its space stay


def test_json_output_is_inert_and_reads_back_as_sent():
    line = safe_json({"login": HOSTILE})

    assert acts_on_a_terminal(line) == []
    assert json.loads(line) == {"login": HOSTILE}
    assert "山田" in line
