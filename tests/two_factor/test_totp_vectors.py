"""RFC 6238 Appendix B: the SHA-1 test vectors, through mamori's own code function."""

from __future__ import annotations

import base64

import pytest

from mamori.totp.service import STEP_SECONDS, code_at, normalize_totp

# Appendix B's SHA-1 seed is the ASCII string "12345678901234567890".
SEED = base64.b32encode(b"12345678901234567890").decode()


@pytest.mark.parametrize(
    ("unix_time", "expected"),
    [
        (59, "94287082"),
        (1111111109, "07081804"),
        (1111111111, "14050471"),
        (1234567890, "89005924"),
        (2000000000, "69279037"),
        (20000000000, "65353130"),
    ],
)
def test_rfc_6238_appendix_b_sha1(unix_time, expected):
    assert code_at(SEED, unix_time // STEP_SECONDS, digits=8) == expected
    # The 6 digits every app shows are the same value's last six digits.
    assert code_at(SEED, unix_time // STEP_SECONDS) == expected[-6:]


@pytest.mark.parametrize(
    "typed", ["12345", "1234567", "12345a", "", "١٢٣٤٥٦", "1" * 1000, "12 34 5"]
)
def test_anything_but_six_digits_is_not_a_code(typed):
    from mamori.core.errors import InvalidCode

    with pytest.raises(InvalidCode):
        normalize_totp(typed)


@pytest.mark.parametrize(
    ("typed", "code"), [("123 456", "123456"), ("１２３４５６", "123456"), ("123-456", "123456")]
)
def test_spaces_hyphens_and_full_width_digits_are_fine(typed, code):
    assert normalize_totp(typed) == code
