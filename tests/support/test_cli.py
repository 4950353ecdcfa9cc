"""`mamori support list | show | approve | deny` and `mamori users grant-operator |
revoke-operator`, run as an operator runs them, against the test's database and secrets."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import termios
import unicodedata

import pytest
from sqlalchemy import select

from mamori.recovery.models import RecoveryAttempt
from mamori.support.models import Operator, SupportCase
from tests.core.helpers import count, events, run_cli
from tests.core.servers import mamori_command
from tests.support.helpers import (
    CONTACT,
    JPEG,
    PNG,
    STORY,
    evidence,
    make_user,
    open_case,
    opened_reference,
    outbox,
    write_secrets,
)


@pytest.fixture
def queue(client, ctx) -> dict[str, str]:
    """hana's case with two files, a case naming no account, and sora as an operator."""
    write_secrets(ctx)
    make_user(ctx, "hana")
    make_user(ctx, "sora")
    granted = run_cli(ctx, "users", "grant-operator", "sora")
    assert granted.exit_code == 0, granted.output
    files = [evidence("id card.png", PNG), evidence("licence.jpg", JPEG)]
    return {
        "hana": opened_reference(open_case(client, login="hana", files=files)),
        "ghost": opened_reference(open_case(client, login="ghost", contact="g@example.net")),
    }


def status_of(ctx, reference: str) -> str:
    with ctx.database.session() as db:
        return str(db.scalar(select(SupportCase.status).where(SupportCase.reference == reference)))


def test_granting_and_revoking_the_operator_role_is_audited(ctx, queue):
    assert count(ctx, Operator) == 1
    assert events(ctx, "operator.granted")[0].details["by"] == "cli"

    again = run_cli(ctx, "users", "grant-operator", "sora")
    assert again.exit_code == 0 and "already" in again.output
    revoked = run_cli(ctx, "users", "revoke-operator", "sora")
    assert revoked.exit_code == 0, revoked.output
    assert count(ctx, Operator) == 0
    assert events(ctx, "operator.revoked")
    nobody = run_cli(ctx, "users", "grant-operator", "nobody")
    assert nobody.exit_code == 1 and "no account named" in nobody.output


def test_list_shows_the_queue_without_unsealing_anything(ctx, queue):
    listed = run_cli(ctx, "support", "list", "--json")

    assert listed.exit_code == 0, listed.output
    rows = [json.loads(line) for line in listed.output.splitlines()]
    assert [r["reference"] for r in rows] == [queue["ghost"], queue["hana"]]
    assert rows[1]["account"] == "hana" and rows[1]["files"] == 2 and rows[1]["status"] == "open"
    assert rows[0]["account"] is None
    assert CONTACT not in listed.output and STORY not in listed.output
    assert "n•••x@e•••.net" in listed.output

    plain = run_cli(ctx, "support", "list", "--status", "denied")
    assert plain.exit_code == 0 and plain.output == ""
    wrong = run_cli(ctx, "support", "list", "--status", "maybe")
    assert wrong.exit_code == 2


def test_show_unseals_the_case_and_saves_the_files(ctx, queue, tmp_path):
    target = tmp_path / "evidence"

    shown = run_cli(
        ctx,
        "support",
        "show",
        queue["hana"].lower(),
        "--operator",
        "sora",
        "--save-evidence",
        str(target),
    )

    assert shown.exit_code == 0, shown.output
    assert STORY in shown.output and CONTACT in shown.output
    assert "typed login: hana" in shown.output
    assert f"id card.png  image/png  {len(PNG)} bytes" in shown.output
    assert f"licence.jpg  image/jpeg  {len(JPEG)} bytes" in shown.output
    saved = sorted(target.iterdir())
    assert [p.read_bytes() for p in saved] == [PNG, JPEG]
    [viewed] = events(ctx, "support.case_viewed")
    assert viewed.details == {
        "case": queue["hana"],
        "account": viewed.details["account"],
        "via": "cli",
    }
    assert viewed.user_id is not None
    assert len(events(ctx, "support.evidence_viewed")) == 2


def test_show_of_an_unknown_reference_is_a_clear_error(ctx, queue):
    for reference in ("AAAA-BBBB-CCCC", "not a reference", "x" * 500):
        shown = run_cli(ctx, "support", "show", reference)
        assert shown.exit_code == 1
        assert "case_not_found" in shown.output


def test_approve_sends_the_link_and_a_second_decision_is_refused(client, ctx, queue):
    approved = run_cli(
        ctx, "support", "approve", queue["hana"], "--operator", "sora", "--note", "ID matches"
    )

    assert approved.exit_code == 0, approved.output
    assert status_of(ctx, queue["hana"]) == "approved"
    assert count(ctx, RecoveryAttempt) == 1
    mail = outbox(client, CONTACT)[0]
    assert "/recovery/support/" in mail["body"]
    [event] = events(ctx, "support.case_approved")
    assert event.user_id is not None and event.details["note"] is True
    shown = run_cli(ctx, "support", "show", queue["hana"])
    assert "note: ID matches" in shown.output and "by sora" in shown.output

    again = run_cli(ctx, "support", "deny", queue["hana"], "--operator", "sora", "--reason", "x")
    assert again.exit_code == 1 and "case_closed" in again.output


def test_deny_then_approve_is_case_closed(client, ctx, queue):
    denied = run_cli(
        ctx, "support", "deny", queue["ghost"], "--operator", "sora", "--reason", "No account"
    )
    assert denied.exit_code == 0, denied.output
    assert status_of(ctx, queue["ghost"]) == "denied"
    assert "closed" in outbox(client, "g@example.net")[0]["body"]

    approved = run_cli(ctx, "support", "approve", queue["ghost"], "--operator", "sora")
    assert approved.exit_code == 1
    assert "case_closed" in approved.output
    assert count(ctx, RecoveryAttempt) == 0


def test_a_case_naming_no_account_cannot_be_approved(ctx, queue):
    approved = run_cli(ctx, "support", "approve", queue["ghost"], "--operator", "sora")

    assert approved.exit_code == 1 and "case_names_no_account" in approved.output
    assert status_of(ctx, queue["ghost"]) == "open"


def test_only_an_operator_may_decide(ctx, queue):
    for who in ("hana", "nobody"):
        result = run_cli(ctx, "support", "approve", queue["hana"], "--operator", who)
        assert result.exit_code == 1 and "not_an_operator" in result.output
    denied = run_cli(ctx, "support", "deny", queue["hana"], "--operator", "sora")
    assert denied.exit_code != 0  # --reason is required
    assert status_of(ctx, queue["hana"]) == "open"


def test_show_escapes_terminal_controls_a_stranger_typed(client, ctx, tmp_path):
    """The typed login is whatever a stranger sent: printed raw, an ANSI sequence could
    erase the line and forge "ID CHECKED" on the operator's screen. The real `mamori`
    program, as an operator runs it, prints every control character escaped."""
    write_secrets(ctx)
    forged = "hana\x1b[2K\rID CHECKED \u202etxt.exe\x07"
    reference = opened_reference(open_case(client, login=forged))
    environment = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    environment |= {
        "MAMORI_DATABASE_URL": ctx.database.url,
        "MAMORI_DATA_DIR": str(ctx.settings.data_dir),
        "MAMORI_ENV": ctx.settings.env,
    }

    printed = on_a_terminal([*mamori_command(), "support", "show", reference], environment)

    assert not [c for c in printed if unicodedata.category(c) in {"Cc", "Cf"} and c != "\n"]
    assert "typed login: hana\\x1b[2K\\rID CHECKED \\u202etxt.exe\\x07" in printed


def on_a_terminal(command: list[str], environment: dict[str, str]) -> str:
    """What `command` prints on a terminal: click strips ANSI sequences only when its
    output is not one, so a pipe would hide what an operator's screen receives."""
    controller, terminal = pty.openpty()
    attributes = termios.tcgetattr(terminal)
    attributes[1] &= ~termios.ONLCR  # keep "\n" as sent, so a stray "\r" stands out
    termios.tcsetattr(terminal, termios.TCSANOW, attributes)
    process = subprocess.Popen(command, env=environment, stdout=terminal, stderr=terminal)
    os.close(terminal)
    output = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the program ended and closed the terminal
            break
        if not chunk:
            break
        output += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 0, output
    return output.decode()
