"""`mamori outbox list | show | retry | deliver`: what an operator sees and does when a
message did not arrive. Never a security code on the screen."""

from __future__ import annotations

import json
import re

import pytest
from typer.testing import CliRunner

from mamori.audit.service import recent_events
from mamori.cli import app
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.notifications.delivery import DeliveryCounts, deliver_pending
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.service import send_sms
from tests.core.servers import free_port
from tests.notifications.conftest import configured
from tests.notifications.fakes import provider_settings, sms_provider, smtp_server
from tests.notifications.helpers import mailer, outbox_cli, password_alert, stored, user


def failed_alert(ctx: Context, port: int) -> int:
    down = mailer(ctx, port, delivery_max_attempts=1)
    alert = password_alert(down, user(ctx))
    assert deliver_pending(down) == DeliveryCounts(failed=1)
    return alert


def test_the_help_names_the_outbox_commands():
    result = CliRunner().invoke(app, ["outbox", "--help"])
    assert result.exit_code == 0
    for command in ("list", "show", "retry", "deliver"):
        assert command in result.output


def test_a_failed_alert_is_listed_retried_and_then_delivered(ctx: Context):
    port = free_port()
    alert = failed_alert(ctx, port)
    down = mailer(ctx, port)

    listed = outbox_cli(down, "list", "--status", "failed")
    assert listed.exit_code == 0, listed.output
    [line] = listed.output.strip().splitlines()
    assert line.startswith(f"{alert}\t")
    assert "\tfailed\temail\talert.your_password_was_changed\tattempts=1\t" in line
    assert "hana@example.com\tYour password was changed" in line
    assert "last error: smtp SMTPConnectError" in line
    assert outbox_cli(down, "list", "--status", "sent").output == ""

    as_json = outbox_cli(down, "list", "--json")
    [row] = [json.loads(text) for text in as_json.output.splitlines()]
    assert (row["id"], row["status"], row["attempts"]) == (alert, "failed", 1)
    assert row["last_error"] == "smtp SMTPConnectError"
    assert "body" not in row

    retried = outbox_cli(down, "retry", str(alert))
    assert retried.exit_code == 0, retried.output
    assert "pending again" in retried.output
    again = stored(ctx, alert)
    assert (again.status, again.attempts) == ("pending", 0)
    with ctx.database.session() as db:
        [event] = recent_events(db, event="delivery.requeued")
    assert event.details["message_id"] == alert
    assert event.user_agent == "mamori-cli"

    with smtp_server(port=port) as inbox:
        delivered = outbox_cli(down, "deliver")
        assert delivered.exit_code == 0, delivered.output
        assert "sent 1, retrying 0, failed 0" in delivered.output
        assert "sent 0" in outbox_cli(down, "deliver").output  # nothing twice
    assert [mail.message["Subject"] for mail in inbox.mails] == ["Your password was changed"]
    assert stored(ctx, alert).status == "sent"


def test_deliver_retries_what_the_server_refuses(ctx: Context):
    down = mailer(ctx, free_port())
    alert = password_alert(down, user(ctx))

    result = outbox_cli(down, "deliver")

    assert result.exit_code == 0, result.output
    assert "sent 0, retrying 1, failed 0" in result.output
    after = stored(ctx, alert)
    assert (after.status, after.attempts, after.last_error) == (
        "pending",
        1,
        "smtp SMTPConnectError",
    )


def test_show_tells_an_operator_where_a_message_stands(ctx: Context):
    alert = failed_alert(ctx, free_port())

    shown = outbox_cli(ctx, "show", str(alert))

    assert shown.exit_code == 0, shown.output
    facts = dict(line.split(": ", 1) for line in shown.output.strip().splitlines() if ": " in line)
    assert facts["to"] == "hana@example.com"
    assert facts["subject"] == "Your password was changed"
    assert facts["status"] == "failed"
    assert facts["attempts"] == "1"
    assert facts["last_error"] == "smtp SMTPConnectError"
    assert facts["template"] == "alert.your_password_was_changed"


def test_retry_refuses_what_is_not_failed_and_what_does_not_exist(ctx: Context):
    alert = password_alert(mailer(ctx, free_port()), user(ctx))  # pending

    pending = outbox_cli(ctx, "retry", str(alert))
    assert pending.exit_code == 1
    assert "only a failed message is sent again; this one is pending." in pending.output.lower()
    assert stored(ctx, alert).status == "pending"

    missing = outbox_cli(ctx, "retry", "9999")
    assert missing.exit_code == 1
    assert "no message with id 9999" in missing.output
    assert outbox_cli(ctx, "show", "9999").exit_code == 1
    assert outbox_cli(ctx, "list", "--status", "lost").exit_code == 2
    with ctx.database.session() as db:
        assert recent_events(db, event="delivery.requeued") == []


def test_no_security_code_ever_reaches_the_operators_screen(ctx: Context, clock: MovableClock):
    with sms_provider() as provider:
        texting = configured(ctx, **provider_settings(provider))
        with texting.database.session() as db:
            sent = send_sms(
                db, texting, to="+819012345678", body="Code 482916", user_id=None, secret="482916"
            )
            assert sent is not None
            sent_id = sent.id
        provider.mode = "error"
        clock.advance(seconds=1)
        failing = configured(ctx, env="production", **provider_settings(provider))
        with pytest.raises(DeliveryFailed), failing.database.session() as db:
            send_sms(
                db, failing, to="+819012345678", body="Code 730155", user_id=None, secret="730155"
            )
    # In development the stored copy holds the code (the development outbox shows it).
    assert "482916" in stored(ctx, sent_id).body

    outputs = [
        outbox_cli(ctx, "list").output,
        outbox_cli(ctx, "list", "--json").output,
        outbox_cli(ctx, "list", "--status", "failed").output,
        *(outbox_cli(ctx, "show", str(n)).output for n in (sent_id, sent_id + 1)),
    ]
    everything = "\n".join(outputs)
    assert "+819012345678" in everything  # the output is not empty
    assert not re.search(r"482916|730155", everything)

    refused = outbox_cli(ctx, "retry", str(sent_id + 1))
    assert refused.exit_code == 1
    assert "new code" in refused.output
    assert stored(ctx, sent_id + 1).status == "failed"
