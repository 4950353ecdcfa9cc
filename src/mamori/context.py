"""The collaborators every service may need, built once per process by create_app."""

from __future__ import annotations

from dataclasses import dataclass

from mamori.core.clock import Clock
from mamori.core.crypto import Keyring
from mamori.core.db import Database
from mamori.core.passwords import PasswordHasher
from mamori.core.throttle import Throttle
from mamori.settings import Settings


@dataclass(frozen=True)
class Context:
    settings: Settings
    clock: Clock
    database: Database
    keyring: Keyring
    hasher: PasswordHasher
    throttle: Throttle
