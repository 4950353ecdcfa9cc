"""Recovering with trusted contacts over the API: asking them, their codes, the proof.

The recovery attempt comes from the lead's recovery service (start_recovery), as
POST /api/v1/recovery makes it."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from mamori.audit.models import AuditEvent
from mamori.recovery import service as recovery
from mamori.trusted_contacts.models import TrustedContactRequest
from tests.conftest import PASSWORD, redis_counters
from tests.core.helpers import count, events, problem, with_counters, with_settings
from tests.trusted_contacts.helpers import (
    ORIGIN,
    REQUESTS,
    ask,
    choose,
    code_from,
    enter,
    mail_to,
    my_requests,
    people,
    proofs,
    start_recovery,
    subjects_to,
)

CONTACTS = ("ken", "aiko", "yuki")


@pytest.fixture
def hana(client):
    """hana chose ken, aiko and yuki; mallory is nobody's contact."""
    who = people(client, "hana", *CONTACTS, "mallory")
    choose(client, who["hana"], *CONTACTS)
    return who


def test_three_contacts_read_their_codes_and_the_recovery_gets_its_proof(client, ctx, hana):
    token = start_recovery(ctx, "hana")

    asked = ask(client, token, "ken", "aiko", "yuki")

    assert asked == {"vouches": 0, "needed": 3, "proven": False, "attempts_left": 15}
    for contact in CONTACTS:
        (request,) = my_requests(client, hana[contact])
        assert request["username"] == "hana" and request["state"] == "waiting"
        mail = mail_to(client, contact)[0]
        assert mail["subject"] == "hana needs your help to log in"
        assert f"/trusted-contacts/requests/{request['id']}" in mail["body"]
        assert "by voice" in mail["body"]
        assert not re.search(r"\d{4} ?\d{4}", mail["body"])  # no code in any message
    assert "Someone asked your trusted contacts for help" in subjects_to(client, "hana")

    codes = [code_from(client, hana[contact]) for contact in CONTACTS]
    assert all(re.fullmatch(r"\d{4} \d{4}", code) for code in codes)
    assert "ken gave a code to help recover your account" in subjects_to(client, "hana")

    answers = [enter(client, token, code) for code in codes]

    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [a.json()["vouches"] for a in answers] == [1, 2, 3]
    assert [a.json()["proven"] for a in answers] == [False, False, True]
    assert proofs(ctx, token) == ["trusted_contacts"]
    assert len(events(ctx, "trusted_contacts.vouched")) == 3
    status = client.get(f"/api/v1/recovery/{token}/trusted-contacts").json()
    assert status["vouches"] == 3 and status["proven"] is True
    (request,) = client.get(REQUESTS, headers=hana["ken"]).json()["requests"] or [None]
    assert request is None  # a used request no longer waits for the contact


def test_the_answer_is_the_same_whoever_is_named_and_whether_the_account_exists(client, ctx, hana):
    tokens = {
        "none": start_recovery(ctx, "hana"),
        "some": start_recovery(ctx, "hana"),
        "all": start_recovery(ctx, "hana"),
        "unknown account": start_recovery(ctx, "nobody.here"),
        "unknown e-mail": start_recovery(ctx, "nobody@example.com"),
    }
    names = {
        "none": ["mallory", "nobody"],
        "some": ["ken", "mallory"],
        "all": ["ken", "aiko", "yuki"],
        "unknown account": ["ken", "aiko", "yuki"],
        "unknown e-mail": ["ken", "aiko", "yuki"],
    }
    answers = {
        case: client.post(
            f"/api/v1/recovery/{token}/trusted-contacts", json={"usernames": names[case]}
        )
        for case, token in tokens.items()
    }

    first = answers["none"]
    for answer in answers.values():
        assert answer.status_code == 202
        assert answer.json() == first.json()
        assert answer.headers["content-type"] == first.headers["content-type"]
    assert my_requests(client, hana["mallory"]) == []
    assert len(my_requests(client, hana["ken"])) == 2  # "some" and "all" only
    assert len(my_requests(client, hana["aiko"])) == 1


def test_an_account_with_too_few_active_contacts_asks_nobody(client, ctx, hana):
    client.delete("/api/v1/me/trusted-contact-of/hana", headers=hana["yuki"])
    token = start_recovery(ctx, "hana")
    before = len(client.get("/dev/outbox").json())

    assert ask(client, token, *CONTACTS)["needed"] == 3

    assert len(client.get("/dev/outbox").json()) == before
    assert count(ctx, TrustedContactRequest) == 0


def test_a_contact_recovering_for_themselves_gets_only_their_own_vouch(client, ctx, hana):
    # ken starts a recovery of hana's account, names himself and others, and types
    # his own code: one vouch, however often, never the threshold.
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken", "aiko", "mallory", "hana")
    assert my_requests(client, hana["hana"]) == []  # the owner is no contact of her own
    (kens,) = my_requests(client, hana["ken"])
    own = code_from(client, hana["ken"])

    assert enter(client, token, own).json()["vouches"] == 1
    again = enter(client, token, own)
    problem(again, 409, "code_already_used")
    (request,) = client.get(REQUESTS, headers=hana["ken"]).json()["requests"] or [None]
    assert request is None
    problem(
        client.post(f"{REQUESTS}/{kens['id']}/code", headers=hana["ken"]),
        409,
        "trusted_contact_request_closed",
    )
    status = client.get(f"/api/v1/recovery/{token}/trusted-contacts").json()
    assert status["vouches"] == 1 and status["proven"] is False
    assert "trusted_contacts" not in proofs(ctx, token)


def test_a_new_code_replaces_the_old_one(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    first = code_from(client, hana["ken"])
    second = code_from(client, hana["ken"])

    problem(enter(client, token, first), 400, "invalid_code")
    assert enter(client, token, second).json()["vouches"] == 1


def test_a_code_made_for_one_recovery_does_not_work_on_another(client, ctx, hana):
    attempt_a = start_recovery(ctx, "hana")
    attempt_b = start_recovery(ctx, "hana")
    ask(client, attempt_a, "ken")
    ask(client, attempt_b, "ken")
    request_a = next(
        r["id"]
        for r in my_requests(client, hana["ken"])
        if _attempt_of(ctx, r["id"]) == _attempt_id(ctx, attempt_a)
    )
    code_a = code_from(client, hana["ken"], request_a)

    problem(enter(client, attempt_b, code_a), 400, "invalid_code")
    assert enter(client, attempt_a, code_a).json()["vouches"] == 1
    assert client.get(f"/api/v1/recovery/{attempt_b}/trusted-contacts").json()["vouches"] == 0


def _attempt_id(ctx, token: str) -> int:
    with ctx.database.session() as db:
        return recovery.open_attempt(db, ctx, token).id


def _attempt_of(ctx, public_id: str) -> int:
    with ctx.database.session() as db:
        return int(
            db.scalar(
                select(TrustedContactRequest.attempt_id).where(
                    TrustedContactRequest.public_id == public_id
                )
            )
        )


@pytest.mark.both_databases
def test_wrong_codes_are_counted_per_recovery_then_refused(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    right = code_from(client, hana["ken"])
    wrong = "0000 0000" if right != "0000 0000" else "1111 1111"

    lefts = [
        problem(enter(client, token, wrong), 400, "invalid_code")["attempts_left"]
        for _ in range(15)
    ]

    assert lefts == list(range(14, -1, -1))
    blocked = problem(enter(client, token, right), 429, "too_many_attempts")
    assert int(blocked["retry_after"]) > 0
    assert client.get(f"/api/v1/recovery/{token}/trusted-contacts").json()["vouches"] == 0
    assert len(events(ctx, "trusted_contacts.code_failed")) == 15


@pytest.mark.both_databases
@pytest.mark.parametrize(
    "typed",
    ["", "1234", "12345678901", "abcd efgh", "1234\x005678", "١٢٣٤٥٦٧٨", "x" * 64],
)
def test_hostile_codes_are_invalid_and_store_nothing(client, ctx, hana, typed):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    code_from(client, hana["ken"])

    answer = enter(client, token, typed)

    assert answer.status_code in (400, 422), answer.text
    assert answer.json()["code"] in ("invalid_code", "invalid_request")
    assert client.get(f"/api/v1/recovery/{token}/trusted-contacts").json()["vouches"] == 0


def test_full_width_and_spaced_codes_work(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    code = code_from(client, hana["ken"])
    full_width = code.translate(str.maketrans("0123456789 ", "０１２３４５６７８９　"))

    assert enter(client, token, full_width).json()["vouches"] == 1


@pytest.mark.both_databases
@pytest.mark.parametrize(
    ("path", "body", "status", "code"),
    [
        ("x" * 129, {"usernames": ["ken"]}, 422, "invalid_request"),
        ("not-a-recovery", {"usernames": ["ken"]}, 410, "recovery_expired"),
        ("TOKEN", {"usernames": []}, 422, "invalid_request"),
        ("TOKEN", {"usernames": ["k"] * 11}, 422, "invalid_request"),
        ("TOKEN", {"usernames": [{"a": 1}]}, 422, "invalid_request"),
        ("TOKEN", {"usernames": ["k" * 65]}, 422, "invalid_request"),
    ],
)
def test_hostile_asks_are_refused_and_ask_nobody(client, ctx, hana, path, body, status, code):
    token = start_recovery(ctx, "hana")
    answer = client.post(
        f"/api/v1/recovery/{path.replace('TOKEN', token)}/trusted-contacts", json=body
    )
    problem(answer, status, code)
    assert count(ctx, TrustedContactRequest) == 0


@pytest.mark.both_databases
def test_odd_names_are_ignored_and_a_contact_is_asked_once(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ｋｅｎ", "KEN", "@ken", "ken\x00", "ke n", "")
    ask(client, token, "ken")

    assert len(my_requests(client, hana["ken"])) == 1
    assert subjects_to(client, "ken").count("hana needs your help to log in") == 1


@pytest.mark.both_databases
def test_asking_is_limited_per_recovery(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    for _ in range(5):
        ask(client, token, "mallory")
    problem(
        client.post(f"/api/v1/recovery/{token}/trusted-contacts", json={"usernames": ["ken"]}),
        429,
        "too_many_attempts",
    )
    assert count(ctx, TrustedContactRequest) == 0


def test_codes_and_requests_end_after_24_hours(client, ctx, clock, hana):
    ctx_long = with_settings(ctx, recovery_attempt_hours=72)
    client.app.state.ctx = ctx_long
    token = start_recovery(ctx_long, "hana")
    ask(client, token, "ken", "aiko")
    code = code_from(client, hana["ken"])
    (aiko_request,) = my_requests(client, hana["aiko"])
    clock.advance(hours=24, seconds=1)

    problem(enter(client, token, code), 410, "trusted_contact_code_expired")
    assert my_requests(client, hana["aiko"]) == []
    problem(
        client.get(f"{REQUESTS}/{aiko_request['id']}", headers=hana["aiko"]),
        410,
        "trusted_contact_request_expired",
    )
    problem(
        client.post(f"{REQUESTS}/{aiko_request['id']}/code", headers=hana["aiko"]),
        410,
        "trusted_contact_request_expired",
    )


def test_a_request_for_a_cancelled_or_dead_recovery_is_gone(client, ctx, hana):
    cancelled = start_recovery(ctx, "hana")
    ask(client, cancelled, "ken")
    (request,) = my_requests(client, hana["ken"])
    with ctx.database.session() as db:
        public_id = recovery.open_attempt(db, ctx, cancelled).public_id
        recovery.cancel_by_owner(db, ctx, ORIGIN, 1, public_id)

    problem(
        client.get(f"{REQUESTS}/{request['id']}", headers=hana["ken"]),
        410,
        "trusted_contact_request_expired",
    )

    # A password change kills the recovery and every request of it.
    alive = start_recovery(ctx, "hana")
    ask(client, alive, "aiko")
    code = code_from(client, hana["aiko"])
    changed = client.post(
        "/api/v1/me/password",
        headers=hana["hana"],
        json={"current_password": PASSWORD, "new_password": "another long passphrase 42"},
    )
    assert changed.status_code == 204, changed.text
    assert my_requests(client, hana["aiko"]) == []
    problem(enter(client, alive, code), 410, "recovery_expired")


def test_a_contact_only_ever_sees_their_own_requests(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken", "aiko")
    (kens,) = my_requests(client, hana["ken"])

    for outsider in ("aiko", "mallory", "hana"):
        problem(
            client.get(f"{REQUESTS}/{kens['id']}", headers=hana[outsider]),
            404,
            "trusted_contact_request_not_found",
        )
        problem(
            client.post(f"{REQUESTS}/{kens['id']}/code", headers=hana[outsider]),
            404,
            "trusted_contact_request_not_found",
        )
        problem(
            client.post(f"{REQUESTS}/{kens['id']}/refuse", headers=hana[outsider]),
            404,
            "trusted_contact_request_not_found",
        )
    for odd in ("nope", "a" * 32, "..%2f..", "%00"):
        answer = client.get(f"{REQUESTS}/{odd}", headers=hana["ken"])
        assert answer.status_code in (404, 422), answer.text
    problem(client.get(f"{REQUESTS}/{'a' * 33}", headers=hana["ken"]), 422, "invalid_request")
    problem(client.get(REQUESTS), 401, "not_authenticated")
    assert client.get(f"{REQUESTS}/{kens['id']}", headers=hana["ken"]).json()["username"] == "hana"


def test_this_isnt_them_closes_the_request_and_tells_the_owner(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    code = code_from(client, hana["ken"])
    (request,) = my_requests(client, hana["ken"])

    refused = client.post(f"{REQUESTS}/{request['id']}/refuse", headers=hana["ken"])

    assert refused.status_code == 204
    assert "ken doubted a recovery of your account" in subjects_to(client, "hana")
    assert events(ctx, "trusted_contacts.request_refused")[0].details["contact"] == "ken"
    problem(enter(client, token, code), 400, "invalid_code")
    shown = client.get(f"{REQUESTS}/{request['id']}", headers=hana["ken"]).json()
    assert shown["state"] == "refused"
    problem(
        client.post(f"{REQUESTS}/{request['id']}/refuse", headers=hana["ken"]),
        409,
        "trusted_contact_request_closed",
    )
    problem(
        client.post(f"{REQUESTS}/{request['id']}/code", headers=hana["ken"]),
        409,
        "trusted_contact_request_closed",
    )


def test_declining_during_a_recovery_withdraws_the_request_and_its_code(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    code = code_from(client, hana["ken"])
    (request,) = my_requests(client, hana["ken"])

    client.delete("/api/v1/me/trusted-contact-of/hana", headers=hana["ken"])

    problem(enter(client, token, code), 400, "invalid_code")
    problem(
        client.get(f"{REQUESTS}/{request['id']}", headers=hana["ken"]),
        404,
        "trusted_contact_request_not_found",
    )


@pytest.mark.both_databases
def test_no_code_is_kept_in_clear_or_written_to_the_audit_log(client, ctx, hana):
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    code = code_from(client, hana["ken"])
    enter(client, token, code)
    digits = code.replace(" ", "")

    with ctx.database.session() as db:
        rows = db.scalars(select(TrustedContactRequest)).all()
        stored = " ".join(str(getattr(r, c.name)) for r in rows for c in r.__table__.columns)
        logged = " ".join(str(e.details) for e in db.scalars(select(AuditEvent)))
    assert digits not in stored and code not in stored
    assert digits not in logged


def test_the_counters_work_alike_in_redis(client, ctx, clock, hana):
    client.app.state.ctx = with_counters(ctx, redis_counters(clock))
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    right = code_from(client, hana["ken"])
    wrong = "0000 0000" if right != "0000 0000" else "1111 1111"

    for _ in range(15):
        problem(enter(client, token, wrong), 400, "invalid_code")
    problem(enter(client, token, right), 429, "too_many_attempts")
    for _ in range(4):
        ask(client, token, "aiko")
    problem(
        client.post(f"/api/v1/recovery/{token}/trusted-contacts", json={"usernames": ["yuki"]}),
        429,
        "too_many_attempts",
    )


def test_contacts_alone_reset_a_password_without_two_factor_and_then_their_requests_end(
    client, ctx, hana
):
    token = start_recovery(ctx, "hana")
    ask(client, token, *CONTACTS)
    (aiko_request,) = my_requests(client, hana["aiko"])
    for contact in CONTACTS:
        enter(client, token, code_from(client, hana[contact]))
    with ctx.database.session() as db:
        assert recovery.recovery_status(db, ctx, token).ready is True
        done = recovery.complete_recovery(db, ctx, ORIGIN, token, "a brand new passphrase 7")
    assert done.status.state == "completed"

    problem(
        client.get(f"{REQUESTS}/{aiko_request['id']}", headers=hana["aiko"]),
        410,
        "trusted_contact_request_expired",
    )
    problem(enter(client, token, "1234 5678"), 410, "recovery_expired")


def test_with_two_factor_the_contacts_are_one_proof_of_two(client, ctx, clock, hana):
    from tests.two_factor.helpers import app_code

    secret = client.post("/api/v1/me/two-factor/totp", headers=hana["hana"]).json()["secret"]
    turned_on = client.post(
        "/api/v1/me/two-factor/totp/confirm",
        headers=hana["hana"],
        json={"code": app_code(secret, clock)},
    )
    assert turned_on.status_code == 200, turned_on.text
    token = start_recovery(ctx, "hana")
    ask(client, token, *CONTACTS)
    for contact in CONTACTS:
        enter(client, token, code_from(client, hana[contact]))

    with ctx.database.session() as db:
        status = recovery.recovery_status(db, ctx, token)
    assert status.proofs == ["trusted_contacts"]
    assert status.ready is False and "password" in status.next_proofs


def test_the_owners_confirmed_phone_hears_of_every_contact_step(client, ctx, hana):
    from sqlalchemy import update

    from mamori.accounts.models import User

    with ctx.database.session() as db:
        db.execute(
            update(User)
            .where(User.username_key == "hana")
            .values(phone="+819012345678", phone_confirmed_at=ctx.clock.now())
        )
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken", "aiko", "yuki")
    code = code_from(client, hana["ken"])
    enter(client, token, code)

    texts = [m["body"] for m in client.get("/dev/outbox").json() if m["to"] == "+819012345678"]
    assert any(t.startswith("Someone asked your trusted contacts for help") for t in texts)
    assert any(t.startswith("ken gave a code to help recover your account") for t in texts)
    assert not any(code.replace(" ", "") in t.replace(" ", "") for t in texts)
