"""One challenge, one assertion, ten requests at once: exactly one logs in (SQLite and
PostgreSQL)."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from mamori.accounts.service import get_user
from mamori.core.errors import MamoriError
from mamori.login import passkey as passkey_login
from mamori.passkeys import service
from mamori.sessions.models import LoginSession
from tests.backup_codes.helpers import ORIGIN, make_user, start
from tests.passkeys.authenticator import SoftAuthenticator

pytestmark = pytest.mark.both_databases

RACERS = 10


def test_one_challenge_logs_in_once(ctx):
    user_id = make_user(ctx)
    session_id, _ = start(ctx, user_id)
    phone = SoftAuthenticator()
    with ctx.database.session() as db:
        user = get_user(db, user_id)
        assert user is not None
        options = json.loads(service.registration_options(db, ctx, user, session_id))
        service.add_passkey(db, ctx, ORIGIN, user, session_id, json.dumps(phone.create(options)))
    with ctx.database.session() as db:
        options = json.loads(passkey_login.passkey_login_options(db, ctx, ORIGIN, "api"))
    credential = json.dumps(phone.get(options))
    start_line = threading.Barrier(RACERS)

    def log_in(_: int) -> str:
        start_line.wait()
        try:
            with ctx.database.session() as db:
                passkey_login.log_in_with_passkey(
                    db, ctx, ORIGIN, credential_json=credential, binding="api", kind="api"
                )
                return "logged in"
        except MamoriError as error:
            return error.code

    with ThreadPoolExecutor(RACERS) as pool:
        outcomes = list(pool.map(log_in, range(RACERS)))

    assert outcomes.count("logged in") == 1, outcomes
    # The rest: the challenge already used, or held by the account's counter (every try
    # is reserved before it is checked, as for passwords).
    assert set(outcomes) - {"logged in"} <= {"passkey_request_expired", "too_many_attempts"}
    with ctx.database.session() as db:
        assert db.query(LoginSession).filter_by(user_id=user_id).count() == 2  # start() + one
