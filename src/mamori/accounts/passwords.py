"""argon2id hashing and the password rules (NIST SP 800-63B, OWASP ASVS 6.2)."""

from __future__ import annotations

from functools import cache

# The hasher lives in core (the context holds one); the rules below build on it.
from mamori.core.passwords import PasswordHasher as PasswordHasher
from mamori.core.passwords import normalize_password as normalize_password


@cache
def common_passwords() -> frozenset[str]:
    # Imported on first use: zxcvbn's lists are megabytes that the CLI and most requests
    # never need (kept in memory once by @cache).
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    # zxcvbn's list is ranked; the top 10,000 covers far more than ASVS's 3,000.
    return frozenset(FREQUENCY_LISTS["passwords"][:10_000])


def password_problem(
    password: str, *, min_length: int, max_length: int, context: tuple[str, ...]
) -> str | None:
    """Why this password is refused, in a stable code, or None when it is acceptable."""
    normalized = normalize_password(password)
    if len(normalized) < min_length:
        return "password_too_short"
    if len(normalized) > max_length:
        return "password_too_long"
    if "\x00" in normalized:
        return "password_invalid_characters"
    lowered = normalized.casefold()
    if lowered in common_passwords():
        return "password_too_common"
    words = {"mamori", *(word.casefold() for word in context if len(word) >= 3)}
    if any(word in lowered and _guessable(lowered.replace(word, "")) for word in words):
        return "password_too_similar"
    return None


def _guessable(rest: str) -> bool:
    """What is left once the username (or "mamori") is taken out: "", "1!", "1234", "2026!"."""
    if len(rest) < 4 or rest in common_passwords():
        return True
    return len(rest) <= 6 and not any(ch.isalpha() for ch in rest)
