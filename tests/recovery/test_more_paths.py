"""Recovery by text message, codes from two channels, races between recoveries, and what a
database dump holds."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select, text, update

from mamori.audit.service import Origin
from mamori.recovery import service
from mamori.recovery.errors import RecoveryExpired, RecoveryInProgress
from mamori.recovery.models import RecoveryAttempt
from tests.conftest import PASSWORD, bearer, log_in
from tests.core.helpers import app_client, clock_of, count, events, problem, run_cli
from tests.recovery.helpers import (
    NEW_PASSWORD,
    account,
    can_log_in,
    complete,
    confirm_addresses,
    last_code_sent_to,
    prove,
    prove_by_email,
    send,
    start,
)
from tests.two_factor.helpers import user_with_app

pytestmark = pytest.mark.both_databases

PHONE = "+819012345678"


def test_a_confirmed_phone_gets_a_texted_code(client, ctx):
    account(client, ctx, phone="090-1234-5678")
    started = start(client, "090 1234 5678")
    assert started["options"] == [{"option": "sms", "destination": "+81 •• •••• ••78"}]

    sent = send(client, started["recovery"], "sms")
    assert sent.status_code == 202
    assert sent.json()["sent_to"] == "+81 •• •••• ••78"
    code = last_code_sent_to(client, PHONE)
    status = prove(client, started["recovery"], "sms_code", code=code).json()

    assert status["proofs"] == ["sms_code"]
    assert complete(client, started["recovery"]).json()["state"] == "completed"
    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"


def test_an_option_that_was_not_offered_is_refused(client, ctx):
    account(client, ctx)  # no phone
    started = start(client, "hana@example.com")
    problem(send(client, started["recovery"], "sms"), 400, "option_not_available")


def text_message_two_factor(client, ctx, username: str = "hana") -> str:
    account(client, ctx, username)
    token = log_in(client, username)
    assert (
        client.post(
            "/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": "090-1234-5678"}
        ).status_code
        == 202
    )
    confirmed = client.post(
        "/api/v1/me/two-factor/sms/confirm",
        headers=bearer(token),
        json={"code": last_code_sent_to(client, PHONE)},
    )
    assert confirmed.status_code == 200, confirmed.text
    clock_of(ctx).advance(seconds=31)
    return token


def test_a_text_to_the_two_factor_phone_keeps_two_factor(client, ctx):
    text_message_two_factor(client, ctx)
    started = start(client, "hana")
    # The two-factor phone is a confirmed number: offered after the e-mail.
    assert [o["option"] for o in started["options"]] == ["email", "sms"]
    prove_by_email(client, started["recovery"], "hana@example.com")
    assert send(client, started["recovery"], "sms").status_code == 202
    status = prove(
        client, started["recovery"], "sms_code", code=last_code_sent_to(client, PHONE)
    ).json()

    assert status["ready"] is True
    assert status["removes_second_factor"] is False
    assert complete(client, started["recovery"]).json()["state"] == "completed"
    assert can_log_in(client, "hana", NEW_PASSWORD) == "two_factor_required"


def test_every_phone_on_the_account_is_told_about_a_recovery(client, ctx):
    text_message_two_factor(client, ctx)
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")

    texts = [m for m in client.get("/dev/outbox").json() if m["to"] == PHONE]
    assert texts[0]["body"].startswith("Someone is recovering your account")


def test_recovery_steps_are_all_in_the_audit_log(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    prove(client, started["recovery"], "password", password="wrong password here")
    prove(client, started["recovery"], "password", password=PASSWORD)
    complete(client, started["recovery"])

    names = [e.event for e in events(ctx) if e.event.startswith("recovery.")]
    assert names == [
        "recovery.started",
        "recovery.proof_accepted",
        "recovery.proof_failed",
        "recovery.proof_accepted",
        "recovery.holding",
    ]
    holding = events(ctx, "recovery.holding")[0]
    assert holding.details["proofs"] == ["email_code", "password"]
    assert holding.details["removes_second_factor"] is True


def test_parallel_completions_of_different_recoveries_change_the_password_once(client, ctx):
    account(client, ctx)
    tokens = []
    for _ in range(4):
        recovery = start(client, "hana")["recovery"]
        prove_by_email(client, recovery, "hana@example.com")
        clock_of(ctx).advance(seconds=31)
        tokens.append(recovery)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(tokens))

    def finish(number: int, token: str) -> None:
        barrier.wait()
        try:
            with ctx.database.session() as db:
                service.complete_recovery(
                    db, ctx, Origin(), token, f"parallel passphrase number {number}"
                )
            outcomes.append(f"won {number}")
        except (RecoveryExpired, RecoveryInProgress) as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=finish, args=(i, t)) for i, t in enumerate(tokens)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    winners = [o for o in outcomes if o.startswith("won")]
    assert len(winners) == 1, outcomes
    assert sorted(o for o in outcomes if not o.startswith("won")) == ["recovery_expired"] * 3
    number = winners[0].split()[1]
    assert can_log_in(client, "hana", f"parallel passphrase number {number}") == "authenticated"


def test_parallel_holds_leave_exactly_one_waiting(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    tokens = []
    for _ in range(4):
        recovery = start(client, "hana")["recovery"]
        prove_by_email(client, recovery, "hana@example.com")
        prove(client, recovery, "password", password=PASSWORD)
        clock_of(ctx).advance(seconds=31)
        tokens.append(recovery)
    outcomes: list[str] = []
    barrier = threading.Barrier(len(tokens))

    def finish(token: str) -> None:
        barrier.wait()
        try:
            with ctx.database.session() as db:
                service.complete_recovery(db, ctx, Origin(), token, NEW_PASSWORD)
            outcomes.append("holding")
        except (RecoveryExpired, RecoveryInProgress) as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=finish, args=(t,)) for t in tokens]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["holding"] + ["recovery_in_progress"] * 3, outcomes
    with ctx.database.session() as db:
        holding = db.scalar(text("SELECT count(*) FROM recovery_attempts WHERE state = 'holding'"))
    assert holding == 1


def test_a_database_dump_holds_no_recovery_secret(client, ctx):
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    assert send(client, started["recovery"]).status_code == 202
    code = last_code_sent_to(client, "hana@example.com")
    prove(client, started["recovery"], "email_code", code=code)
    prove(client, started["recovery"], "password", password=PASSWORD)
    complete(client, started["recovery"])
    alert = next(
        m
        for m in client.get("/dev/outbox").json()
        if m["subject"] == "Your account is being recovered"
    )
    cancel = alert["body"].split("/recovery/cancel/")[1].split()[0]

    dump = []
    with ctx.database.engine.connect() as connection:
        for table in ("recovery_attempts", "recovery_proofs", "security_codes", "audit_events"):
            dump += [repr(tuple(row)) for row in connection.execute(text(f"SELECT * FROM {table}"))]
    everything = "\n".join(dump)

    assert started["recovery"] not in everything
    assert cancel not in everything
    assert code not in everything
    assert NEW_PASSWORD not in everything
    assert "recovery.holding" in everything  # the dump is not empty


def move_effect_to(ctx, moment: datetime) -> None:
    with ctx.database.session() as db:
        db.execute(update(RecoveryAttempt).values(takes_effect_at=moment))


def test_the_operator_applies_due_recoveries_from_the_command_line(client, ctx):
    token, _, _ = user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], "hana@example.com")
    prove(client, started["recovery"], "password", password=PASSWORD)
    complete(client, started["recovery"])

    # The command line runs on the real clock: place the moment it takes effect around it.
    move_effect_to(ctx, datetime(2999, 1, 1, tzinfo=UTC))
    listed = run_cli(ctx, "recovery", "list")
    assert listed.exit_code == 0, listed.output
    assert "hana" in listed.output and "holding" in listed.output
    early = run_cli(ctx, "recovery", "apply-due")
    assert "0 recoveries took effect" in early.output
    assert can_log_in(client, "hana", PASSWORD) == "two_factor_required"

    move_effect_to(ctx, datetime(2000, 1, 1, tzinfo=UTC))
    applied = run_cli(ctx, "recovery", "apply-due")

    assert applied.exit_code == 0, applied.output
    assert "1 recoveries took effect" in applied.output
    assert count(ctx, RecoveryAttempt) == 1
    assert can_log_in(client, "hana", NEW_PASSWORD) == "authenticated"
    problem(client.get("/api/v1/me/recoveries", headers=bearer(token)), 401, "not_authenticated")


def test_a_recovery_code_is_handed_over_after_the_answer_from_a_sealed_copy(ctx):
    from mamori.notifications.delivery import deliver_pending
    from mamori.notifications.models import OutboxMessage
    from tests.conftest import sign_up
    from tests.core.helpers import app_client, with_settings
    from tests.notifications.fakes import smtp_server

    with smtp_server() as inbox:
        production = with_settings(
            ctx, env="production", smtp_host=inbox.host, smtp_port=inbox.port, smtp_security="none"
        )
        with app_client(production) as client:
            sign_up(client, "hana", email="hana@example.com")
            confirm_addresses(production, "hana")
            recovery = start(client, "hana")["recovery"]

            assert send(client, recovery).status_code == 202
            # Answered before any SMTP conversation: a real send looks like a withheld one.
            assert [m for m in inbox.mails if m.recipients == ["hana@example.com"]] == []
            with production.database.session() as db:
                (row,) = db.scalars(select(OutboxMessage).where(OutboxMessage.kind == "code"))
                assert row.status == "pending"
                assert row.sealed_body and "••••••" in row.body

            assert deliver_pending(production).sent >= 1

            (mail,) = [m for m in inbox.mails if m.recipients == ["hana@example.com"]]
            code = last_six_digits(mail.text)
            assert code not in row.body
            with production.database.session() as db:
                sent = db.get(OutboxMessage, row.id)
                assert sent is not None and sent.sealed_body is None  # gone once sent
            assert prove(client, recovery, "email_code", code=code).status_code == 200


def last_six_digits(text_body: str) -> str:
    import re

    found = re.findall(r"\b(\d{6})\b", text_body)
    assert found, text_body
    return str(found[-1])


def test_the_kept_copy_of_a_holding_alert_has_no_cancel_link_and_the_mail_does(ctx):
    import re

    from mamori.notifications.delivery import deliver_pending
    from mamori.notifications.models import OutboxMessage
    from tests.core.helpers import app_client, with_settings
    from tests.notifications.fakes import smtp_server

    with smtp_server() as inbox:
        production = with_settings(
            ctx, env="production", smtp_host=inbox.host, smtp_port=inbox.port, smtp_security="none"
        )
        with app_client(production) as client:
            user_with_app(client, clock_of(production))
            confirm_addresses(production, "hana")
            recovery = start(client, "hana")["recovery"]
            assert send(client, recovery).status_code == 202
            deliver_pending(production)
            code = last_six_digits(inbox.mails[-1].text)
            assert prove(client, recovery, "email_code", code=code).status_code == 200
            assert prove(client, recovery, "password", password=PASSWORD).status_code == 200
            assert complete(client, recovery).json()["state"] == "holding"

            with production.database.session() as db:
                (kept,) = db.scalars(
                    select(OutboxMessage).where(
                        OutboxMessage.subject == "Your account is being recovered"
                    )
                )
            # Whoever reads a database dump cannot cancel the owner's recovery (nor act on it).
            assert "/recovery/cancel/" not in kept.body and "••••••" in kept.body

            deliver_pending(production)
            (mail,) = [
                m for m in inbox.mails if m.message["subject"] == "Your account is being recovered"
            ]
            found = re.search(r"/recovery/cancel/([\w-]+)", mail.text)
            assert found, mail.text
            cancelled = client.post(
                "/api/v1/recovery/cancellations", json={"cancel_token": found.group(1)}
            )
            assert cancelled.status_code == 204, cancelled.text


def test_recoveries_started_by_others_do_not_keep_the_owner_out(ctx):
    """Five starts naming "hana" from elsewhere used to make hana's own start wait (429);
    from where she logged in before, she starts one at once."""
    with (
        app_client(ctx, peer=("203.0.113.20", 5000)) as home,
        app_client(ctx, peer=("198.51.100.66", 5000)) as stranger,
    ):
        account(home, ctx)
        assert log_in(home, "hana")
        for _ in range(5):
            assert stranger.post("/api/v1/recovery", json={"login": "hana"}).is_success
        problem(stranger.post("/api/v1/recovery", json={"login": "hana"}), 429, "too_many_attempts")

        assert home.post("/api/v1/recovery", json={"login": "hana"}).is_success
