"""Bulk seeding of the peer: `python -m peer_site.seed PLAN.json OUT.json` (migrated DB).

PLAN: {"password": str, "plain": [[id, username]...], "two_factor": [[id, username,
totp_secret]...], "sessions": [id...]}, ids being mamori's, so both sides line up.
Every account gets one argon2id hash made with the bench's hasher (the same hash for all:
hashing each would take minutes, and the bench measures verifying, not making, hashes).
Two-factor accounts get a TOTP authenticator with the given secret and a set of recovery
codes made by allauth; "sessions" accounts a logged-in session (a headless session token).
OUT receives {"codes": {id: [recovery codes]}, "sessions": {id: token}}.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import timedelta

import django

django.setup()

from allauth.mfa.models import Authenticator  # noqa: E402
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes  # noqa: E402
from allauth.mfa.utils import encrypt  # noqa: E402
from django.conf import settings  # noqa: E402
from django.contrib.auth import (  # noqa: E402
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.hashers import make_password  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.contrib.sessions.models import Session  # noqa: E402
from django.db import transaction  # noqa: E402
from django.utils import timezone  # noqa: E402
from django.utils.crypto import get_random_string  # noqa: E402

BATCH = 2000
KEY_CHARS = "abcdefghijklmnopqrstuvwxyz0123456789"


def main(plan_path: str, out_path: str) -> None:
    with open(plan_path) as f:
        plan = json.load(f)
    User = get_user_model()
    password_hash = make_password(plan["password"])
    codes: dict[str, list[str]] = {}
    tokens: dict[str, str] = {}
    people = [(i, name) for i, name in plan["plain"]] + [
        (i, name) for i, name, _ in plan["two_factor"]
    ]
    with transaction.atomic():
        for start in range(0, len(people), BATCH):
            User.objects.bulk_create(
                [
                    User(id=i, username=name, password=password_hash)
                    for i, name in people[start : start + BATCH]
                ]
            )
        rows = []
        for i, _, secret in plan["two_factor"]:
            rows.append(
                Authenticator(
                    user_id=i, type=Authenticator.Type.TOTP, data={"secret": encrypt(secret)}
                )
            )
            recovery = Authenticator(
                user_id=i,
                type=Authenticator.Type.RECOVERY_CODES,
                data={"seed": encrypt(RecoveryCodes.generate_seed()), "used_mask": 0},
            )
            codes[str(i)] = RecoveryCodes(recovery).generate_codes()
            rows.append(recovery)
        for start in range(0, len(rows), BATCH):
            Authenticator.objects.bulk_create(rows[start : start + BATCH])
        # Sessions as a headless password login leaves them (django.contrib.auth.login +
        # allauth's record of how the user authenticated).
        store = SessionStore()
        expires = timezone.now() + timedelta(seconds=settings.SESSION_COOKIE_AGE)
        users = User.objects.in_bulk(plan["sessions"])
        sessions = []
        for i in plan["sessions"]:
            user = users[i]
            key = get_random_string(32, KEY_CHARS)
            data = {
                SESSION_KEY: str(user.pk),
                BACKEND_SESSION_KEY: settings.AUTHENTICATION_BACKENDS[0],
                HASH_SESSION_KEY: user.get_session_auth_hash(),
                "account_authentication_methods": [
                    {"method": "password", "at": time.time(), "username": user.username}
                ],
            }
            sessions.append(
                Session(session_key=key, session_data=store.encode(data), expire_date=expires)
            )
            tokens[str(i)] = key
        Session.objects.bulk_create(sessions)
    if django.db.connection.vendor == "postgresql":
        with django.db.connection.cursor() as cursor:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('auth_user', 'id'), "
                "(SELECT MAX(id) FROM auth_user))"
            )
            cursor.execute("ANALYZE")
    with open(out_path, "w") as f:
        json.dump({"codes": codes, "sessions": tokens}, f)
    print(
        f"seeded {len(people)} accounts ({len(plan['two_factor'])} with TOTP + recovery codes, "
        f"{len(sessions)} sessions)"
    )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
