"""argon2id hashing of passwords, as every account and the context need it."""

from __future__ import annotations

import unicodedata
from typing import Protocol

import argon2
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError


class Argon2Cost(Protocol):
    """The settings the hasher reads (mamori.settings.Settings has them)."""

    argon2_time_cost: int
    argon2_memory_kib: int
    argon2_parallelism: int


class PasswordHasher:
    def __init__(self, settings: Argon2Cost) -> None:
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
