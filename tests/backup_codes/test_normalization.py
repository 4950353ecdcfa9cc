"""What a person may type for a backup code, and what is refused (DESIGN.md "Backup codes")."""

from __future__ import annotations

import pytest

from mamori.backup_codes.service import format_backup_code, normalize_backup_code
from mamori.core.errors import InvalidCode

ACCEPTED = [
    ("12345678", "plain digits"),
    ("1234 5678", "as shown"),
    ("  1234 5678  ", "spaces around"),
    ("1234-5678", "hyphen"),
    ("12-34-56-78", "hyphens anywhere"),
    ("1234\u30005678", "ideographic space from a Japanese IME"),
    ("１２３４ ５６７８", "full-width digits"),
    ("１２３４－５６７８", "full-width digits and hyphen"),
    ("1234ー5678", "katakana prolonged sound mark typed for a hyphen"),
    ("1234\u20135678", "en dash"),
    ("1234\u22125678", "minus sign"),
    ("1234\u00a05678", "no-break space"),
    ("1234\t5678\n", "tab and newline from a paste"),
    ("𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "mathematical bold digits (NFKC makes them ASCII)"),
]

REFUSED = [
    ("", "empty"),
    ("    ", "only spaces"),
    ("1234 567", "one digit short"),
    ("1234 56789", "one digit too many"),
    ("1234 567O", "letter O for zero"),
    ("abcd efgh", "letters"),
    ("١٢٣٤٥٦٧٨", "Arabic-Indic digits (refused: NFKC keeps them; codes are ASCII digits)"),
    ("۱۲۳۴۵۶۷۸", "Extended Arabic-Indic digits"),
    ("१२३४५६७८", "Devanagari digits"),
    ("1234.5678", "a dot is not a separator"),
    ("1234_5678", "underscore"),
    ("+12345678", "sign"),
    ("1234\x005678", "NUL byte"),
    ("1234\u200b5678", "zero-width space"),
    ("1" * 1024, "1 KB of digits"),
    ("1234 5678" + " " * 100, "a valid code padded past the length limit"),
    ("\ud800" * 8, "lone surrogates"),
]


@pytest.mark.parametrize(("typed", "why"), ACCEPTED, ids=[why for _, why in ACCEPTED])
def test_accepted_notations_become_the_code(typed: str, why: str) -> None:
    assert normalize_backup_code(typed, 8) == "12345678", why


@pytest.mark.parametrize(("typed", "why"), REFUSED, ids=[why for _, why in REFUSED])
def test_anything_else_is_invalid_code(typed: str, why: str) -> None:
    with pytest.raises(InvalidCode) as raised:
        normalize_backup_code(typed, 8)
    assert raised.value.code == "invalid_code", why
    assert raised.value.status == 400


def test_codes_are_shown_in_readable_groups() -> None:
    assert format_backup_code("12345678") == "1234 5678"
    assert format_backup_code("123456789") == "123 456 789"
    assert format_backup_code("1234567890") == "12345 67890"
    assert format_backup_code("123456789012") == "1234 5678 9012"
    # Whatever the grouping, what is shown is what is accepted back.
    for digits in range(8, 13):
        code = "1234567890123"[:digits]
        assert normalize_backup_code(format_backup_code(code), digits) == code
