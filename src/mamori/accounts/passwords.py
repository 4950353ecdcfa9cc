"""argon2id hashing and the password rules (NIST SP 800-63B, OWASP ASVS 6.2)."""

from __future__ import annotations

import unicodedata
from functools import cache

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from mamori.settings import Settings


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self._hasher = argon2.PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=argon2.Type.ID,
        )
        # Unknown accounts are checked against this, so they cost the same time.
        self._dummy = self._hasher.hash("mamori dummy password for unknown accounts")

    def hash(self, password: str) -> str:
        return self._hasher.hash(normalize_password(password))

    def verify(self, stored_hash: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored_hash or self._dummy, normalize_password(password))
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        return self._hasher.check_needs_rehash(stored_hash)


def normalize_password(password: str) -> str:
    """NFKC (NIST SP 800-63B §3.1.1.2), so a full-width IME and a half-width keyboard agree.

    No case folding, no trimming, no truncation.
    """
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
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
