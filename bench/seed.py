"""Accounts for benches, written straight into mamori's database in bulk.

    from bench.seed import seed_accounts

    accounts = seed_accounts(ctx, 1_000, totp=True, backup_codes=10, sessions=True)
    accounts.username(7), accounts.password, accounts.totp_secret(7),
    accounts.backup_code(7, 0), accounts.session_token(7), accounts.challenge_token(7, 0)

Why not sign up through the API: every sign-up costs an argon2id hash (≈ 50 ms a core),
so 1,000,000 accounts would take hours. Here ONE hash is made with mamori's own
PasswordHasher (its settings: same parameters the server verifies with) and shared by every
account. Everything a server checks is made with mamori's own functions and the server's
own secrets (ctx comes from `MamoriServer.context()`, which reads the server's data dir):
TOTP secrets sealed with the keyring as `totp.service` seals them, backup codes as keyed
digests + sealed copies exactly as `backup_codes.service` stores them (viewable mode),
session and login-challenge tokens stored as SHA-256 digests as `core.crypto` does.

Secrets, codes and tokens are derived from `Accounts.seed` and the user id (HMAC), so the
load processes can recompute any of them from this small picklable object.

`filler=N` (PostgreSQL only) adds N more accounts after the usable ones with
INSERT ... SELECT generate_series: same rows and indexes (a backup-code set, codes, a TOTP
app, a session per account) but with random digests, so they cost no Python crypto and
1,000,000 accounts seed in minutes. They are there to make the tables and indexes big.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import insert, text

import mamori.backup_codes.service as backup_codes_service
from mamori.accounts.credentials import credential_stamp
from mamori.accounts.models import User
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.context import Context
from mamori.core.crypto import token_digest
from mamori.login.models import LoginChallenge
from mamori.security.models import SecurityState
from mamori.sessions.models import LoginSession
from mamori.totp.models import Authenticator
from mamori.two_factor.models import TwoFactorSettings

BATCH = 2_000
FILLER_BATCH = 100_000
BENCH_PASSWORD = "correct horse battery staple 2026"


@dataclass(frozen=True)
class Accounts:
    """Usable accounts bench<id> for id in first_id .. first_id + count - 1."""

    first_id: int
    count: int
    password: str
    seed: bytes
    backup_code_digits: int = 8

    def ids(self) -> range:
        return range(self.first_id, self.first_id + self.count)

    def user_id(self, n: int) -> int:
        """The n-th account (wrapping): what a workload uses for operation n."""
        return self.first_id + n % self.count

    def username(self, user_id: int) -> str:
        return f"bench{user_id}"

    def _derive(self, *parts: object) -> bytes:
        return hmac.new(self.seed, ":".join(map(str, parts)).encode(), hashlib.sha256).digest()

    def totp_secret(self, user_id: int) -> str:
        return base64.b32encode(self._derive("totp", user_id)[:20]).decode()

    def backup_code(self, user_id: int, position: int) -> str:
        value = int.from_bytes(self._derive("backup", user_id, position)[:8], "big")
        digits = self.backup_code_digits
        return f"{value % 10**digits:0{digits}d}"

    def session_token(self, user_id: int) -> str:
        return base64.urlsafe_b64encode(self._derive("session", user_id)).decode().rstrip("=")

    def challenge_token(self, user_id: int, k: int) -> str:
        return base64.urlsafe_b64encode(self._derive("challenge", user_id, k)).decode().rstrip("=")


def _batches(ids: range, size: int) -> Iterator[range]:
    for start in range(ids.start, ids.stop, size):
        yield range(start, min(start + size, ids.stop))


def seed_accounts(
    ctx: Context,
    count: int,
    *,
    totp: bool = False,
    backup_codes: int = 0,
    sessions: bool = False,
    challenges: int = 0,
    filler: int = 0,
    password: str = BENCH_PASSWORD,
    progress: Callable[[str], None] | None = None,
) -> Accounts:
    """`count` usable accounts (ids 1..count) and `filler` more (PostgreSQL), in bulk.

    totp: a confirmed authenticator app and two-factor on (default method TOTP).
    backup_codes: a viewable set of that many codes. sessions: one live API session each.
    challenges: that many open login challenges each (the password step already passed),
    valid for the server's login_challenge_minutes from now."""
    now = ctx.clock.now()
    signed_up = now - timedelta(hours=1)
    settings = ctx.settings
    accounts = Accounts(
        first_id=1,
        count=count,
        password=password,
        seed=secrets.token_bytes(32),
        backup_code_digits=settings.backup_code_digits,
    )
    password_hash = ctx.hasher.hash(password)  # the one argon2id hash, mamori's parameters
    keyring = ctx.keyring
    started = time.perf_counter()
    with ctx.database.engine.begin() as connection:
        for ids in _batches(accounts.ids(), BATCH):
            connection.execute(
                insert(User),
                [
                    {
                        "id": i,
                        "username": accounts.username(i),
                        "username_key": accounts.username(i),
                        "password_hash": password_hash,
                        "password_changed_at": signed_up,
                        "locale": "en",
                        "created_at": signed_up,
                    }
                    for i in ids
                ],
            )
            # The rating sign-up takes of the password (security.ratings), as for any account.
            connection.execute(
                insert(SecurityState),
                [
                    {
                        "user_id": i,
                        "password_score": 4,
                        "password_common": False,
                        "password_rated_at": signed_up,
                    }
                    for i in ids
                ],
            )
            if totp:
                connection.execute(
                    insert(Authenticator),
                    [
                        {
                            "user_id": i,
                            # as totp.service seals it (context "totp:<user id>")
                            "sealed_secret": keyring.seal(accounts.totp_secret(i), f"totp:{i}"),
                            "created_at": now,
                            "confirmed_at": now,
                        }
                        for i in ids
                    ],
                )
                connection.execute(
                    insert(TwoFactorSettings),
                    [{"user_id": i, "default_method": "totp", "enabled_at": now} for i in ids],
                )
            if backup_codes:
                digits = settings.backup_code_digits
                connection.execute(
                    insert(BackupCodeSet),
                    [
                        {
                            "id": i,
                            "user_id": i,
                            "mode": "viewable",
                            "digits": digits,
                            "created_at": now,
                        }
                        for i in ids
                    ],
                )
                rows = []
                for i in ids:
                    for position in range(backup_codes):
                        code = accounts.backup_code(i, position)
                        rows.append(
                            {
                                "set_id": i,
                                "position": position,
                                "digest": keyring.keyed_digest(
                                    backup_codes_service.DIGEST_PURPOSE, str(i), code
                                ),
                                "sealed": keyring.seal(
                                    code, backup_codes_service._seal_context(i, i)
                                ),
                            }
                        )
                connection.execute(insert(BackupCode), rows)
            if sessions:
                connection.execute(
                    insert(LoginSession),
                    [
                        {
                            "public_id": secrets.token_urlsafe(12),
                            "token_digest": token_digest(accounts.session_token(i)),
                            "user_id": i,
                            "kind": "api",
                            "created_at": now,
                            "last_seen_at": now,
                            "expires_at": now
                            + timedelta(minutes=settings.session_absolute_minutes),
                            "reauthenticated_at": now,
                            "ip": "127.0.0.1",
                            "user_agent": "bench",
                        }
                        for i in ids
                    ],
                )
        if filler:
            if connection.dialect.name != "postgresql":
                raise ValueError("filler accounts are seeded with PostgreSQL's generate_series")
            _seed_filler(
                connection,
                first=count + 1,
                last=count + filler,
                password_hash=password_hash,
                backup_codes=backup_codes,
                now=now,
                progress=progress,
            )
    if challenges:
        # Last, with a fresh clock: they expire login_challenge_minutes after this, and a
        # million filler accounts take longer than that to write.
        now = ctx.clock.now()
        # Bound to the credentials as a real password step binds it: every account was
        # seeded with the same hash and has not changed it since.
        stamp = credential_stamp(User(credential_generation=0, password_hash=password_hash))
        with ctx.database.engine.begin() as connection:
            for ids in _batches(accounts.ids(), BATCH):
                expires = now + timedelta(minutes=settings.login_challenge_minutes)
                connection.execute(
                    insert(LoginChallenge),
                    [
                        {
                            "token_digest": token_digest(accounts.challenge_token(i, k)),
                            "user_id": i,
                            "kind": "api",
                            "created_at": now,
                            "expires_at": expires,
                            "failures": 0,
                            "credential_stamp": stamp,
                        }
                        for i in ids
                        for k in range(challenges)
                    ],
                )
    if ctx.database.engine.dialect.name == "postgresql":
        with ctx.database.engine.begin() as connection:
            last = count + filler
            for table in ("users", "backup_code_sets"):
                connection.execute(
                    text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), :n)"),
                    {"n": last},
                )
            connection.execute(text("ANALYZE"))
    if progress:
        progress(f"seeded {count:,} + {filler:,} accounts in {time.perf_counter() - started:.1f} s")
    return accounts


IDS = "generate_series(CAST(:a AS integer), CAST(:b AS integer))"
POSITIONS = "generate_series(0, CAST(:codes AS integer) - 1)"
FILLER_SQL = [
    """INSERT INTO users (id, username, username_key, password_hash, password_changed_at,
                          locale, created_at)
       SELECT g, 'bench' || g, 'bench' || g, :hash, :now, 'en', :now
       FROM {ids} g""",
    """INSERT INTO security_states (user_id, password_score, password_common, password_rated_at)
       SELECT g, 4, false, :now FROM {ids} g""",
    """INSERT INTO totp_authenticators (user_id, sealed_secret, created_at, confirmed_at)
       SELECT g, 'k1.' || encode(sha256(('totp' || g)::bytea), 'base64'), :now, :now
       FROM {ids} g""",
    """INSERT INTO two_factor_settings (user_id, default_method, enabled_at)
       SELECT g, 'totp', :now FROM {ids} g""",
    """INSERT INTO backup_code_sets (id, user_id, mode, digits, created_at)
       SELECT g, g, 'viewable', 8, :now FROM {ids} g""",
    """INSERT INTO backup_codes (set_id, position, digest, sealed)
       SELECT g, p, encode(sha256((:salt || g || ':' || p)::bytea), 'hex'),
              'k1.' || encode(sha256(('sealed' || g || ':' || p)::bytea), 'base64')
       FROM {ids} g, {positions} p""",
    """INSERT INTO login_sessions (public_id, token_digest, user_id, kind, created_at,
                                  last_seen_at, expires_at, reauthenticated_at, ip, user_agent,
                                  must_change_password)
       SELECT 'f' || g, encode(sha256((:salt || 'session' || g)::bytea), 'hex'), g, 'api',
              :now, :now, :now + interval '30 days', :now, '127.0.0.1', 'bench', false
       FROM {ids} g""",
]


def _seed_filler(
    connection: Any,
    *,
    first: int,
    last: int,
    password_hash: str,
    backup_codes: int,
    now: Any,
    progress: Callable[[str], None] | None,
) -> None:
    salt = secrets.token_hex(8)  # no filler digest can equal a real code's keyed digest
    started = time.perf_counter()
    for ids in _batches(range(first, last + 1), FILLER_BATCH):
        params = {
            "a": ids.start,
            "b": ids.stop - 1,
            "hash": password_hash,
            "now": now,
            "salt": salt,
            "codes": max(backup_codes, 1),
        }
        for statement in FILLER_SQL:
            connection.execute(text(statement.format(ids=IDS, positions=POSITIONS)), params)
        if progress:
            done = ids.stop - first
            progress(
                f"  filler {done:,}/{last - first + 1:,} ({time.perf_counter() - started:.0f} s)"
            )
