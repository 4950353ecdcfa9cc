"""Django's argon2 hasher with exactly mamori's argon2id parameters (from PEER_ARGON2_*)."""

from __future__ import annotations

import math
import os

from django.contrib.auth.hashers import Argon2PasswordHasher
from django.utils.crypto import get_random_string


class MamoriArgon2PasswordHasher(Argon2PasswordHasher):
    time_cost = int(os.environ["PEER_ARGON2_TIME_COST"])
    memory_cost = int(os.environ["PEER_ARGON2_MEMORY_KIB"])
    parallelism = int(os.environ["PEER_ARGON2_PARALLELISM"])
    hash_len = int(os.environ["PEER_ARGON2_HASH_LEN"])
    salt_len = int(os.environ["PEER_ARGON2_SALT_LEN"])

    # Django's default salt is 22 characters; mamori's (argon2-cffi's) is salt_len bytes.
    # salt_len letters and digits carry salt_len * log2(62) bits: say so, or Django would
    # call every such hash outdated and rehash it at each login (a second argon2id run).
    salt_entropy = int(salt_len * math.log2(62))

    def salt(self) -> str:
        return get_random_string(self.salt_len)

    def params(self):  # type: ignore[no-untyped-def]
        argon2 = self._load_library()
        return argon2.Parameters(
            type=argon2.low_level.Type.ID,
            version=argon2.low_level.ARGON2_VERSION,
            salt_len=self.salt_len,
            hash_len=self.hash_len,
            time_cost=self.time_cost,
            memory_cost=self.memory_cost,
            parallelism=self.parallelism,
        )
