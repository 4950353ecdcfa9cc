"""Alerts never wait for SMTP: they are queued with the change they report and handed over
by the delivery worker, which retries with backoff, gives up visibly, and never sends one
message twice, however many workers run."""

from __future__ import annotations

import threading
from datetime import timedelta

import httpx
import pytest
from fastapi.testclient import TestClient

from mamori.app import create_app
from mamori.audit.service import recent_events
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.notifications import delivery
from mamori.notifications.delivery import DeliveryCounts, deliver_pending
from mamori.notifications.service import alert_template, send_email, send_sms
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.servers import free_port
from tests.notifications.conftest import configured
from tests.notifications.fakes import (
    provider_settings,
    silent_server,
    sms_provider,
    smtp_server,
)
from tests.notifications.helpers import (
    all_messages,
    mailer,
    password_alert,
    stored,
    user,
)

pytestmark = pytest.mark.both_databases

NEW_PASSWORD = "a brand new passphrase 2026"


def change_password(client: TestClient) -> httpx.Response:
    sign_up(client, "hana", email="hana@example.com")
    token = log_in(client, "hana")
    answer: httpx.Response = client.post(
        "/api/v1/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=bearer(token),
    )
    return answer


def test_an_alert_in_a_request_does_not_wait_for_a_server_that_is_down(ctx: Context):
    port = free_port()  # nothing listens here yet
    down = mailer(ctx, port)
    with TestClient(create_app(context=down), base_url="http://localhost") as client:
        changed = change_password(client)
        assert changed.status_code == 204, changed.text
        assert log_in(client, "hana", NEW_PASSWORD)  # the change stands
    [alert] = all_messages(ctx)
    assert (alert.status, alert.attempts, alert.to) == ("pending", 0, "hana@example.com")
    assert alert.template == "alert.your_password_was_changed"
    with ctx.database.session() as db:
        assert recent_events(db, event="delivery.failed") == []

    with smtp_server(port=port) as inbox:
        assert deliver_pending(down) == DeliveryCounts(sent=1)
    [mail] = inbox.mails
    assert mail.message["Subject"] == "Your password was changed"
    assert stored(ctx, alert.id).status == "sent"


def test_an_alert_in_a_request_does_not_wait_for_a_server_that_hangs(ctx: Context):
    with silent_server() as hanging:
        slow = mailer(ctx, hanging.port, delivery_timeout_seconds=0.5)
        with TestClient(create_app(context=slow), base_url="http://localhost") as client:
            assert change_password(client).status_code == 204
        assert hanging.connections == 0  # the request never talked to the server
        [alert] = all_messages(ctx)
        assert alert.status == "pending"

        assert deliver_pending(slow) == DeliveryCounts(retrying=1)
        assert hanging.connections == 1  # the worker did, and gave up after the timeout
    after = stored(ctx, alert.id)
    assert (after.status, after.attempts) == ("pending", 1)
    assert after.last_error is not None and after.last_error.startswith("smtp ")


def test_a_failed_send_is_retried_with_growing_waits_until_the_server_is_back(
    ctx: Context, clock: MovableClock
):
    port = free_port()
    down = mailer(ctx, port, delivery_retry_seconds=30)
    alert = password_alert(down, user(ctx))

    assert deliver_pending(down) == DeliveryCounts(retrying=1)
    first = stored(ctx, alert)
    assert first.next_attempt_at == clock.now() + timedelta(seconds=30)
    assert first.last_error == "smtp SMTPConnectError"

    assert deliver_pending(down) == DeliveryCounts()  # not due yet
    clock.advance(seconds=29)
    assert deliver_pending(down) == DeliveryCounts()
    clock.advance(seconds=1)
    assert deliver_pending(down) == DeliveryCounts(retrying=1)
    assert stored(ctx, alert).next_attempt_at == clock.now() + timedelta(seconds=60)

    with smtp_server(port=port) as inbox:
        clock.advance(seconds=59)
        assert deliver_pending(down) == DeliveryCounts()
        clock.advance(seconds=1)
        assert deliver_pending(down) == DeliveryCounts(sent=1)
        assert deliver_pending(down) == DeliveryCounts()  # and only once
    assert [mail.recipients for mail in inbox.mails] == [["hana@example.com"]]
    delivered = stored(ctx, alert)
    assert (delivered.status, delivered.attempts) == ("sent", 3)
    assert delivered.sent_at == clock.now()
    assert delivered.provider_ref == inbox.mails[0].message["Message-ID"]


def test_waits_double_up_to_an_hour(ctx: Context):
    waits = [delivery.retry_delay(ctx, attempt) for attempt in (1, 2, 3, 7, 8, 40)]
    assert [int(wait.total_seconds()) for wait in waits] == [30, 60, 120, 1920, 3600, 3600]


def test_after_the_last_attempt_the_message_is_failed_and_audited_without_its_body(
    ctx: Context, clock: MovableClock
):
    down = mailer(ctx, free_port(), delivery_max_attempts=3)
    owner = user(ctx)
    alert = password_alert(down, owner)

    outcomes = []
    for _ in range(3):
        outcomes.append(deliver_pending(down))
        clock.advance(hours=1)
    assert outcomes == [
        DeliveryCounts(retrying=1),
        DeliveryCounts(retrying=1),
        DeliveryCounts(failed=1),
    ]
    assert deliver_pending(down) == DeliveryCounts()  # failed is final until an operator acts
    failed = stored(ctx, alert)
    assert (failed.status, failed.attempts, failed.next_attempt_at) == ("failed", 3, None)
    with ctx.database.session() as db:
        [event] = recent_events(db, event="delivery.failed")
    assert event.user_id == owner.id
    assert event.outcome == "failure"
    assert event.details["message_id"] == alert
    assert event.details["attempts"] == 3
    assert event.details["template"] == "alert.your_password_was_changed"
    assert event.details["reason"] == "smtp SMTPConnectError"
    assert "hana@example.com" not in str(event.details)
    assert "was changed" not in str(event.details)


def test_two_workers_at_once_send_each_message_exactly_once(ctx: Context):
    with smtp_server() as inbox:
        sending = mailer(ctx, inbox.port)
        with sending.database.session() as db:
            for n in range(24):
                send_email(
                    db, sending, to=f"person{n}@example.com", subject="Hi", body="…", user_id=None
                )
        start = threading.Barrier(2)
        results: list[DeliveryCounts] = []

        def worker() -> None:
            start.wait()
            results.append(deliver_pending(sending, limit=100))

        threads = [threading.Thread(target=worker) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    recipients = sorted(mail.recipients[0] for mail in inbox.mails)
    assert recipients == sorted(f"person{n}@example.com" for n in range(24))
    assert sum(result.sent for result in results) == 24
    assert {(m.status, m.attempts) for m in all_messages(ctx)} == {("sent", 1)}


def test_a_claimed_message_waits_for_its_lease_and_a_late_worker_cannot_overwrite_it(
    ctx: Context, clock: MovableClock
):
    with smtp_server() as inbox:
        sending = mailer(ctx, inbox.port)
        alert = password_alert(sending, user(ctx))
        stalled = delivery._claim(sending, alert, 0)  # a worker that claimed it, then hung
        assert stalled is not None and stalled.attempt == 1

        assert deliver_pending(sending) == DeliveryCounts()  # another worker leaves it alone
        clock.advance(seconds=delivery.LEASE.total_seconds() - 1)
        assert deliver_pending(sending) == DeliveryCounts()
        assert inbox.mails == []
        clock.advance(seconds=1)
        assert deliver_pending(sending) == DeliveryCounts(sent=1)  # the lease ran out
    assert len(inbox.mails) == 1
    # The stalled worker wakes up and reports a failure: the newer outcome stands.
    assert delivery._retry_or_give_up(sending, stalled, "smtp TimeoutError") == "retrying"
    after = stored(ctx, alert)
    assert (after.status, after.attempts, after.last_error) == ("sent", 2, None)


def test_a_message_whose_workers_keep_dying_ends_up_failed_without_another_send(
    ctx: Context, clock: MovableClock
):
    with smtp_server() as inbox:
        sending = mailer(ctx, inbox.port, delivery_max_attempts=2)
        alert = password_alert(sending, user(ctx))
        for attempt in (1, 2):
            claim = delivery._claim(sending, alert, attempt - 1)  # claimed, then the worker died
            assert claim is not None
            clock.advance(seconds=delivery.LEASE.total_seconds())
        assert deliver_pending(sending) == DeliveryCounts(failed=1)
    assert inbox.mails == []
    failed = stored(ctx, alert)
    assert failed.status == "failed"
    assert failed.last_error == "the worker stopped during the last attempt"


def test_production_without_smtp_keeps_the_alert_and_says_why(ctx: Context):
    production = configured(ctx, env="production")
    alert = password_alert(production, user(ctx))

    assert stored(ctx, alert).status == "pending"  # kept for when the operator sets SMTP up
    assert deliver_pending(production) == DeliveryCounts(retrying=1)
    assert stored(ctx, alert).last_error == "no channel configured"


def test_development_without_smtp_leaves_alerts_in_the_development_outbox(ctx, client):
    alert = password_alert(ctx, user(ctx))

    assert deliver_pending(ctx) == DeliveryCounts()
    [entry] = client.get("/dev/outbox").json()
    assert entry["status"] == "outbox"
    assert entry["subject"] == "Your password was changed"
    assert stored(ctx, alert).attempts == 0


def test_each_alert_carries_a_stable_template_in_every_language(ctx: Context):
    with smtp_server() as inbox:
        sending = mailer(ctx, inbox.port)
        english = password_alert(sending, user(ctx, "hana", locale="en"))
        japanese = password_alert(sending, user(ctx, "kenji", locale="ja"))
        named = password_alert(sending, user(ctx, "aiko"), template="password.changed")
        deliver_pending(sending)
    assert [stored(ctx, m).template for m in (english, japanese, named)] == [
        "alert.your_password_was_changed",
        "alert.your_password_was_changed",
        "password.changed",
    ]
    subjects = {mail.recipients[0]: mail.message["Subject"] for mail in inbox.mails}
    assert subjects["hana@example.com"] == "Your password was changed"
    assert subjects["kenji@example.com"] == "パスワードが変更されました"
    assert "template" not in stored(ctx, named).body
    assert alert_template("%(count)s backup codes left") == "alert.backup_codes_left"


def test_the_served_app_delivers_in_the_background(ctx: Context):
    with smtp_server() as inbox:
        sending = mailer(ctx, inbox.port, delivery_poll_seconds=0.2)
        app = create_app(context=sending, deliver_in_background=True)
        with TestClient(app, base_url="http://localhost") as client:
            assert change_password(client).status_code == 204
            delivered = threading.Event()
            for _ in range(100):  # a guard against hanging, not a measurement
                if inbox.mails:
                    delivered.set()
                    break
                delivered.wait(0.1)
    assert [mail.message["Subject"] for mail in inbox.mails] == ["Your password was changed"]
    assert [m.status for m in all_messages(ctx)] == ["sent"]


def test_an_app_built_for_tests_runs_no_worker(ctx: Context):
    with smtp_server() as inbox:
        sending = mailer(ctx, inbox.port, delivery_poll_seconds=0.05)
        with TestClient(create_app(context=sending), base_url="http://localhost") as client:
            assert change_password(client).status_code == 204
            threading.Event().wait(0.5)
    assert inbox.mails == []
    assert [m.status for m in all_messages(ctx)] == ["pending"]


def delivery_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mamori-delivery-worker" and t.is_alive()]


@pytest.mark.parametrize("setting", ["true", "false"])
def test_mamori_serve_runs_the_worker_unless_turned_off(ctx, monkeypatch, setting):
    from mamori.cli import create_app_from_environment

    for name, value in {
        "MAMORI_DATABASE_URL": ctx.database.url,
        "MAMORI_DATA_DIR": str(ctx.settings.data_dir),
        "MAMORI_ENV": "development",
        "MAMORI_REDIS_URL": "",
        "MAMORI_DELIVERY_WORKER": setting,
    }.items():
        monkeypatch.setenv(name, value)
    ctx.settings.data_dir.mkdir(parents=True, exist_ok=True)
    before = delivery_threads()
    app = create_app_from_environment()
    with TestClient(app, base_url="http://localhost") as client:  # type: ignore[arg-type]
        assert client.get("/healthz").status_code == 200
        running = [t for t in delivery_threads() if t not in before]
    assert len(running) == (1 if setting == "true" else 0)
    assert not any(t.is_alive() for t in running)  # stopped with the app


def test_a_text_that_is_not_a_code_is_queued_and_retried_through_the_sms_provider(
    ctx: Context, clock: MovableClock
):
    with sms_provider() as provider:
        texting = configured(ctx, **provider_settings(provider))
        provider.mode = "error"
        with texting.database.session() as db:
            message = send_sms(
                db,
                texting,
                to="+819012345678",
                body="新しいログインがありました",
                user_id=None,
                kind="alert",
            )
            assert message is not None
            queued = message.id
        assert stored(ctx, queued).status == "pending"
        assert provider.texts == []
        assert deliver_pending(texting) == DeliveryCounts(retrying=1)
        assert stored(ctx, queued).last_error == "sms provider answered 500 20500"
        provider.mode = "ok"
        clock.advance(seconds=30)
        assert deliver_pending(texting) == DeliveryCounts(sent=1)
    assert provider.bodies_to("+819012345678") == ["新しいログインがありました"]
    sent = stored(ctx, queued)
    assert sent.status == "sent"
    assert sent.provider_ref is not None and sent.provider_ref.startswith("SM")


def test_alerts_over_the_sms_cap_wait_and_go_out_as_the_cap_frees(
    ctx: Context, clock: MovableClock
):
    """Finding 4 of issue 16: with no e-mail to divert them to, texts over the cap wait in
    the outbox; the worker takes a slot under the cap before each hand-over."""
    with sms_provider() as provider:
        texting = configured(ctx, sms_sends_per_hour=1, **provider_settings(provider))
        queued = []
        for body in ("first alert", "second alert", "third alert"):
            with texting.database.session() as db:
                message = send_sms(
                    db, texting, to="+819012345678", body=body, user_id=None, kind="alert"
                )
                assert message is not None
                queued.append(message.id)
        assert deliver_pending(texting) == DeliveryCounts(sent=1)
        assert provider.bodies_to("+819012345678") == ["first alert"]
        assert [stored(ctx, m).status for m in queued[1:]] == ["pending", "pending"]

        clock.advance(minutes=59)
        assert deliver_pending(texting) == DeliveryCounts()  # not due before the cap frees
        clock.advance(minutes=2)
        # One slot in the new hour: the second goes, the third waits for the next.
        assert deliver_pending(texting) == DeliveryCounts(sent=1, held=1)
        assert provider.bodies_to("+819012345678") == ["first alert", "second alert"]
        clock.advance(minutes=61)
        assert deliver_pending(texting) == DeliveryCounts(sent=1)
    assert provider.bodies_to("+819012345678") == ["first alert", "second alert", "third alert"]
    assert stored(ctx, queued[2]).attempts == 1  # waiting spent no delivery attempt
