"""kill -9 of `mamori serve` in the middle of backup-code logins and "Get new codes".

Several accounts, each with two-factor and a set of backup codes. Threads log in with the
codes (two threads per account chasing the same next code, so the same code is often typed
twice at once), and for half of the accounts a third thread keeps getting new codes. The
whole process group (supervisor and both workers) gets SIGKILL while requests are in
flight; mamori starts again on the same data. Then, as a user would find it:

- every code whose use was answered 2xx is recorded used, or its whole set was replaced
  by a later "Get new codes";
- no code was ever accepted twice, before or after the restart: typing any acknowledged
  code again is refused (409 code_already_used, or 400 invalid_code once replaced);
- each account holds one whole set: as many codes as configured, positions 0..n-1, all of
  one generation, and that generation is the last one acknowledged (or the one whose
  request the kill cut off);
- the database is sound: SQLite `PRAGMA integrity_check` and `foreign_key_check`;
  PostgreSQL with every constraint valid and pg_amcheck (heap and B-tree) clean.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Connection, make_url, text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from mamori.core.crypto import load_or_create_keyring
from mamori.core.db import Database
from tests.conftest import PASSWORD, empty_postgres_schema, skip_or_fail
from tests.faults.helpers import Account, Server, log_in_with_backup_code, prepare_account

CODES_PER_SET = 20
SPEND_ONLY = ("ayaka", "botan")
REGENERATING = ("chiyo", "daichi")
# Kill once this many uses were acknowledged (or after KILL_AFTER_SECONDS at most).
ACKNOWLEDGED_BEFORE_KILL = 12
KILL_AFTER_SECONDS = 20
PG_BIN = Path("/usr/lib/postgresql/15/bin")
SETTINGS = {
    "BACKUP_CODES_COUNT": str(CODES_PER_SET),
    # Racing threads make deliberate "already used" failures; keep the per-account
    # second-factor delay out of the way so every answer says what happened to the code.
    "SECOND_FACTOR_FREE_FAILURES": "1000",
}


def digits(code: str) -> str:
    return code.replace(" ", "")


@dataclass
class Ledger:
    """What the clients were told, and what they never heard back about."""

    generations: dict[str, list[list[str]]]
    lock: threading.Lock = field(default_factory=threading.Lock)
    accepted: Counter[tuple[str, str]] = field(default_factory=Counter)
    acknowledged: list[tuple[str, str]] = field(default_factory=list)
    cut_off_uses: list[tuple[str, str]] = field(default_factory=list)
    cut_off_regenerations: set[str] = field(default_factory=set)
    in_flight: Counter[str] = field(default_factory=Counter)
    cut_off: Counter[str] = field(default_factory=Counter)
    answers: Counter[int] = field(default_factory=Counter)
    killed_at: float | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    errors: list[str] = field(default_factory=list)


class CutOff(Exception):
    """The server went away before answering."""


def call(ledger: Ledger, kind: str, request: Callable[[], httpx.Response]) -> httpx.Response:
    started = time.monotonic()
    with ledger.lock:
        ledger.in_flight[kind] += 1
    try:
        answer = request()
    except (httpx.TransportError, AssertionError) as error:
        with ledger.lock:
            ledger.in_flight[kind] -= 1
            killed_at = ledger.killed_at
            if killed_at is None:
                ledger.errors.append(f"{kind} failed before the kill: {error!r}")
            elif started < killed_at:
                ledger.cut_off[kind] += 1  # sent before the kill, never answered
        raise CutOff() from error
    with ledger.lock:
        ledger.in_flight[kind] -= 1
        ledger.answers[answer.status_code] += 1
    if answer.status_code >= 500:
        with ledger.lock:
            ledger.errors.append(f"{kind}: {answer.status_code} {answer.text[:200]}")
    return answer


def spender(ledger: Ledger, url: str, username: str) -> None:
    """Log in with the first code of the newest set nobody has been told is spent."""
    with httpx.Client(base_url=url, timeout=30) as http:
        while not ledger.stop.is_set():
            with ledger.lock:
                newest = ledger.generations[username][-1]
                unspent = [c for c in newest if not ledger.accepted[(username, c)]]
            if not unspent:
                time.sleep(0.02)
                continue
            code = unspent[0]
            try:
                started = call(ledger, "login", partial(_password_step, http, username))
                if started.status_code != 200:
                    with ledger.lock:
                        ledger.errors.append(f"password step: {started.status_code}")
                    return
                challenge = started.json()["challenge"]
                answer = call(ledger, "use", partial(_verify, http, challenge, code))
            except CutOff:
                with ledger.lock:
                    ledger.cut_off_uses.append((username, code))
                return
            _record_use(ledger, username, code, answer)


def regenerator(ledger: Ledger, url: str, username: str) -> None:
    """Log in with a code, then "Get new codes" again and again with that session."""
    with httpx.Client(base_url=url, timeout=30) as http:
        token = None
        while token is None and not ledger.stop.is_set():
            with ledger.lock:
                newest = ledger.generations[username][-1]
                code = [c for c in newest if not ledger.accepted[(username, c)]][-1]
            try:
                log_in = partial(log_in_with_backup_code, http, username, code)
                answer = call(ledger, "login", log_in)
            except CutOff:
                return
            _record_use(ledger, username, code, answer)
            if answer.status_code == 200:
                token = answer.json()["token"]
        while not ledger.stop.is_set():
            try:
                answer = call(
                    ledger,
                    "regenerate",
                    lambda: http.post(
                        "/api/v1/me/backup-codes", headers={"Authorization": f"Bearer {token}"}
                    ),
                )
            except CutOff:
                with ledger.lock:
                    ledger.cut_off_regenerations.add(username)
                return
            if answer.status_code != 201:
                with ledger.lock:
                    ledger.errors.append(f"get new codes: {answer.status_code} {answer.text}")
                return
            with ledger.lock:
                ledger.generations[username].append([c["code"] for c in answer.json()["codes"]])
            time.sleep(0.1)


def _password_step(http: httpx.Client, username: str) -> httpx.Response:
    return http.post("/api/v1/login", json={"login": username, "password": PASSWORD})


def _verify(http: httpx.Client, challenge: str, code: str) -> httpx.Response:
    return http.post(
        f"/api/v1/login/{challenge}/verify", json={"method": "backup_code", "code": code}
    )


def _record_use(ledger: Ledger, username: str, code: str, answer: httpx.Response) -> None:
    with ledger.lock:
        if 200 <= answer.status_code < 300:
            ledger.accepted[(username, code)] += 1
            ledger.acknowledged.append((username, code))
        elif answer.status_code not in {400, 409}:
            ledger.errors.append(f"use of a code: {answer.status_code} {answer.text[:200]}")


# --- the backends ------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database mamori migrates itself: a SQLite file, or a fresh schema in the
    shared PostgreSQL test database (its URL carries the search_path)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'data' / 'mamori.db'}"
        return
    with empty_postgres_schema("mamori_faults") as url:
        yield url


def test_kill_9_mid_flight_loses_no_acknowledged_use_and_spends_no_code_twice(
    database_url: str, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    server = Server(data_dir, {**SETTINGS, "DATABASE_URL": database_url})
    server.start()
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            accounts = {name: prepare_account(http, name) for name in (*SPEND_ONLY, *REGENERATING)}
        ledger = Ledger({name: [account.codes] for name, account in accounts.items()})
        threads = [
            threading.Thread(target=spender, args=(ledger, server.url, name))
            for name in accounts
            for _ in range(2)
        ] + [
            threading.Thread(target=regenerator, args=(ledger, server.url, name))
            for name in REGENERATING
        ]
        for thread in threads:
            thread.start()
        figures = _kill_mid_flight(ledger, server)
        ledger.stop.set()
        for thread in threads:
            thread.join(timeout=60)
            assert not thread.is_alive(), "a client thread hung after the kill"
        print(f"\n[faults] {database_url.split(':')[0]}: {figures}")

        server.workers = 1  # the same data, a fresh process (one worker serves the checks)
        server.start()
        _check_the_database(database_url, data_dir, accounts, ledger)
        _check_every_code_again(server.url, database_url, data_dir, accounts, ledger)
        assert not ledger.errors, ledger.errors
    finally:
        server.stop()


def _kill_mid_flight(ledger: Ledger, server: Server) -> dict[str, object]:
    deadline = time.monotonic() + KILL_AFTER_SECONDS
    while time.monotonic() < deadline:
        with ledger.lock:
            enough = len(ledger.acknowledged) >= ACKNOWLEDGED_BEFORE_KILL
            busy = ledger.in_flight["use"] > 0 and ledger.in_flight["login"] > 0
            if enough and busy:
                in_flight_at_kill = dict(ledger.in_flight)
                acknowledged = len(ledger.acknowledged)
                ledger.killed_at = time.monotonic()
                server.kill()  # under the lock: no answer is recorded while it happens
                break
        time.sleep(0.005)
    else:
        pytest.fail(f"not enough load within {KILL_AFTER_SECONDS} s: {ledger.errors}")
    time.sleep(0.5)  # let every client notice
    return {
        "acknowledged uses before the kill": acknowledged,
        "regenerations acknowledged": sum(len(g) - 1 for g in ledger.generations.values()),
        "requests in flight at the kill": in_flight_at_kill,
        "answers before the kill": dict(ledger.answers),
    }


def _current_sets(database_url: str) -> dict[str, list[tuple[int, str, bool, int]]]:
    """username -> [(position, digest, used, set id)] of each account's set(s)."""
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            rows = connection.execute(
                text(
                    "SELECT u.username, c.position, c.digest, c.used_at IS NOT NULL, s.id "
                    "FROM users u JOIN backup_code_sets s ON s.user_id = u.id "
                    "JOIN backup_codes c ON c.set_id = s.id ORDER BY u.username, c.position"
                )
            ).all()
    finally:
        database.engine.dispose()
    sets: dict[str, list[tuple[int, str, bool, int]]] = {}
    for username, position, digest, used, set_id in rows:
        sets.setdefault(username, []).append((position, digest, bool(used), set_id))
    return sets


def _digest_of(data_dir: Path, account: Account) -> Callable[[str], str]:
    keyring = load_or_create_keyring(data_dir / "secrets.json")
    return lambda code: keyring.keyed_digest("backup-code", str(account.user_id), digits(code))


def _check_the_database(
    database_url: str, data_dir: Path, accounts: dict[str, Account], ledger: Ledger
) -> None:
    _check_integrity(database_url)
    sets = _current_sets(database_url)
    for name, account in accounts.items():
        digest = _digest_of(data_dir, account)
        rows = sets.get(name, [])
        # One whole set: every position once, all in one set, as many as configured.
        assert [position for position, *_ in rows] == list(range(CODES_PER_SET)), name
        assert len({set_id for *_, set_id in rows}) == 1, f"{name} holds codes of two sets"
        current = {d: used for _, d, used, _ in rows}
        known = [{digest(c) for c in generation} for generation in ledger.generations[name]]
        if name not in ledger.cut_off_regenerations:
            # The newest acknowledged generation is the one in force, whole.
            assert set(current) == known[-1], f"{name}: the last acknowledged set is not in force"
        else:
            # The cut-off "Get new codes" either happened entirely or not at all.
            assert set(current) == known[-1] or not set(current) & set().union(*known), name
        for username, code in ledger.acknowledged:
            if username == name and digest(code) in current:
                assert current[digest(code)], f"{name}: an acknowledged use was lost"
    with ledger.lock:
        twice = {key: n for key, n in ledger.accepted.items() if n > 1}
    assert not twice, f"codes accepted more than once: {twice}"


def _check_integrity(database_url: str) -> None:
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            if database.is_sqlite:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
                assert connection.exec_driver_sql("PRAGMA foreign_key_check").all() == []
            else:
                unchecked = connection.execute(
                    text(
                        "SELECT conname FROM pg_constraint c JOIN pg_namespace n "
                        "ON n.oid = c.connamespace "
                        "WHERE n.nspname = current_schema() AND NOT c.convalidated"
                    )
                ).all()
                assert unchecked == []
                orphans = connection.execute(
                    text(
                        "SELECT count(*) FROM backup_codes c LEFT JOIN backup_code_sets s "
                        "ON s.id = c.set_id WHERE s.id IS NULL"
                    )
                ).scalar()
                assert orphans == 0
    finally:
        database.engine.dispose()
    if not database_url.startswith("sqlite"):
        _pg_amcheck(database_url)


def _pg_amcheck(database_url: str) -> None:
    """Heap and B-tree checks (with every heap tuple found in its indexes) of mamori's
    tables and indexes in its schema."""
    if not (PG_BIN / "pg_amcheck").exists():
        skip_or_fail(f"{PG_BIN / 'pg_amcheck'} not found (Debian: postgresql-15)")
    database = Database(database_url)
    try:
        with database.engine.connect() as connection:
            _ensure_amcheck(connection)
            schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    finally:
        database.engine.dispose()
    url = make_url(database_url)
    checked = subprocess.run(
        [
            *(str(PG_BIN / "pg_amcheck"), "--heapallindexed", "--parent-check", "--no-password"),
            *("-h", url.host or "127.0.0.1", "-p", str(url.port or 5432)),
            *("-U", url.username or "postgres", "-d", str(url.database), "--schema", schema),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _ensure_amcheck(connection: Connection) -> None:
    """pg_amcheck needs the amcheck extension in the database (once; it stays, in public).
    Another run may be creating it at the same moment: then it exists, which is all we need."""
    try:
        with connection.begin():
            connection.execute(text("CREATE EXTENSION IF NOT EXISTS amcheck SCHEMA public"))
    except (IntegrityError, ProgrammingError):
        pass
    installed = connection.execute(text("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'"))
    assert installed.scalar() == 1


def _check_every_code_again(
    url: str, database_url: str, data_dir: Path, accounts: dict[str, Account], ledger: Ledger
) -> None:
    """After the restart, type every code a client ever sent once more."""
    sets = _current_sets(database_url)
    with httpx.Client(base_url=url, timeout=30) as http:
        for name, code in sorted(set(ledger.acknowledged)):
            in_force = {d for _, d, _, _ in sets[name]}
            answer = log_in_with_backup_code(http, name, code)
            if _digest_of(data_dir, accounts[name])(code) in in_force:
                assert answer.status_code == 409, f"{name} {code}: {answer.text}"
                assert answer.json()["code"] == "code_already_used"
            else:  # its set was replaced by "Get new codes"
                assert answer.status_code == 400, f"{name} {code}: {answer.text}"
        for name, code in sorted(set(ledger.cut_off_uses) - set(ledger.acknowledged)):
            digest = _digest_of(data_dir, accounts[name])(code)
            state = {d: used for _, d, used, _ in sets[name]}
            answer = log_in_with_backup_code(http, name, code)
            if digest not in state:
                assert answer.status_code == 400, "a code of a replaced set still works"
            elif state[digest]:
                assert answer.status_code == 409, "a code spent as the kill hit works again"
            else:
                # Never committed: the use was cut off whole, so the code still works once.
                assert answer.status_code == 200, answer.text
                again = log_in_with_backup_code(http, name, code)
                assert again.status_code == 409, again.text
        # And mamori serves people again: an untouched code of a spend-only account works.
        name = SPEND_ONLY[0]
        fresh = [
            c
            for c in ledger.generations[name][-1]
            if (name, c) not in set(ledger.acknowledged) | set(ledger.cut_off_uses)
        ]
        assert fresh, "every code was spent; raise CODES_PER_SET"
        assert log_in_with_backup_code(http, name, fresh[0]).status_code == 200
