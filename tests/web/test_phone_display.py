"""Phone numbers read as people write them: 090-1234-5678 for a Japanese number."""

from __future__ import annotations

import pytest

from mamori.core.i18n import format_phone


@pytest.mark.parametrize(
    ("stored", "shown"),
    [
        ("+819012345678", "090-1234-5678"),
        ("+81312345678", "03-1234-5678"),
        ("+442079460958", "+44 20 7946 0958"),
        ("", ""),
        (None, ""),
        ("not a number", "not a number"),
    ],
)
def test_a_stored_number_is_shown_as_people_write_it(stored, shown):
    assert format_phone(stored) == shown
