"""Approving and denying: the link goes to the contact address (never built from the Host
header), leads to the new-password step, takes the holding period; a decision is final;
no operator decides their own case; every action is in the audit log."""

from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.outbox import outbox as stored_messages
from mamori.recovery import service as recovery
from mamori.recovery.models import RecoveryAttempt
from mamori.support import service
from mamori.support.errors import CaseClosed, CaseNamesNoAccount, NotAnOperator, OwnCase
from mamori.support.models import SupportCase
from tests.core.helpers import app_client, count, events, with_settings
from tests.notifications.fakes import smtp_server
from tests.support.helpers import (
    CONTACT,
    ORIGIN,
    PNG,
    approve,
    deny,
    evidence,
    make_operator,
    make_user,
    open_case,
    opened_reference,
    operator,
    outbox,
)

LINK = re.compile(r"(https?://\S+/recovery/support/)([A-Za-z0-9_-]+)")
NEW_PASSWORD = "a brand new passphrase 2026"


def link_in(message: dict[str, Any]) -> tuple[str, str]:
    found = LINK.search(message["body"])
    assert found, message["body"]
    return found.group(0), found.group(2)


def case_status(ctx, reference: str) -> str:
    with ctx.database.session() as db:
        return str(db.scalar(select(SupportCase.status).where(SupportCase.reference == reference)))


@pytest.fixture
def opened(client, ctx) -> tuple[str, int, int]:
    """A case about hana's account, and an operator (sora): (reference, hana, sora)."""
    hana = make_user(ctx, "hana")
    sora = make_operator(ctx, "sora")
    reference = opened_reference(open_case(client, login="hana", files=[evidence("id.png", PNG)]))
    return reference, hana, sora


def test_approval_mails_a_link_to_the_contact_address_that_leads_to_a_new_password(
    client, ctx, opened
):
    reference, _hana, sora = opened

    approve(ctx, reference, sora, note="Matched the ID photo")

    [mail, _ack] = outbox(client, CONTACT)
    assert reference in mail["subject"]
    link, token = link_in(mail)
    # From MAMORI_BASE_URL, whatever Host the request came with.
    assert link.startswith("http://localhost/recovery/support/")
    assert case_status(ctx, reference) == "approved"

    landing = client.get(
        f"/recovery/support/{token}", headers={"Host": "evil.example"}, follow_redirects=False
    )
    assert landing.status_code == 303
    assert landing.headers["location"] == "/recovery/new-password"
    assert landing.headers["referrer-policy"] == "no-referrer"
    cookie = landing.headers["set-cookie"]
    assert f"mamori_recovery={token}" in cookie
    assert "HttpOnly" in cookie and "samesite=lax" in cookie.lower() and "Path=/" in cookie

    # The cookie is the recovery: the new-password page takes it, and the change holds.
    client.cookies.set("mamori_recovery", token)
    page = client.get("/recovery/new-password")
    assert page.status_code == 200
    assert "Choose a new password" in page.text
    assert "waiting period" in page.text
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert csrf
    done = client.post(
        "/recovery/new-password",
        data={"csrf_token": csrf.group(1), "new_password": NEW_PASSWORD},
        follow_redirects=False,
    )
    assert done.headers["location"] == "/recovery/done"
    assert "Your recovery is on its way" in client.get("/recovery/done").text
    with ctx.database.session() as db:
        status = recovery.recovery_status(db, ctx, token)
    assert status.state == "holding"
    assert status.proofs == ["support"]


def test_the_owner_is_told_on_every_address_without_the_full_contact(client, ctx, opened):
    reference, _hana, sora = opened

    approve(ctx, reference, sora)

    subjects = [m["subject"] for m in outbox(client, "hana@example.com")]
    assert "Support approved a recovery of your account" in subjects
    for message in outbox(client, "hana@example.com"):
        assert CONTACT not in message["body"]
        assert not LINK.search(message["body"])


def test_the_approval_mail_is_in_the_accounts_language(client, ctx):
    make_user(ctx, "hana", locale="ja")
    sora = make_operator(ctx)
    reference = opened_reference(open_case(client, login="hana"))

    approve(ctx, reference, sora)

    mail = outbox(client, CONTACT)[0]
    assert "承認" in mail["subject"]
    link_in(mail)


def test_a_used_or_unknown_link_says_it_no_longer_works(client, ctx, opened):
    reference, hana, sora = opened
    approve(ctx, reference, sora)
    _link, token = link_in(outbox(client, CONTACT)[0])
    with ctx.database.session() as db:
        user = db.get(User, hana)
        user.password_hash = ctx.hasher.hash("the owner changed it meanwhile")

    for path in (f"/recovery/support/{token}", "/recovery/support/not-a-token"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 410
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert "mamori_recovery" not in answer.headers.get("set-cookie", "")


def test_denial_tells_the_contact_in_general_words_and_closes_the_case(client, ctx, opened):
    reference, _hana, sora = opened

    deny(ctx, reference, sora, reason="The photo does not match the account's records")

    [mail, _ack] = outbox(client, CONTACT)
    assert reference in mail["subject"]
    assert "closed" in mail["body"]
    assert "photo" not in mail["body"] and "hana" not in mail["body"]
    assert case_status(ctx, reference) == "denied"
    assert count(ctx, RecoveryAttempt) == 0


def test_a_denied_case_cannot_be_approved_or_denied_again(client, ctx, opened):
    reference, _hana, sora = opened
    deny(ctx, reference, sora)

    with pytest.raises(CaseClosed):
        approve(ctx, reference, sora)
    with pytest.raises(CaseClosed):
        deny(ctx, reference, sora)
    assert count(ctx, RecoveryAttempt) == 0
    assert CaseClosed.status == 409 and CaseClosed.code == "case_closed"


def test_an_approved_case_cannot_be_approved_twice(client, ctx, opened):
    reference, _hana, sora = opened
    approve(ctx, reference, sora)

    with pytest.raises(CaseClosed):
        approve(ctx, reference, sora)
    with pytest.raises(CaseClosed):
        deny(ctx, reference, sora)
    assert count(ctx, RecoveryAttempt) == 1
    assert len([m for m in outbox(client, CONTACT) if LINK.search(m["body"])]) == 1


def test_a_case_naming_no_account_can_only_be_denied(client, ctx):
    sora = make_operator(ctx)
    reference = opened_reference(open_case(client, login="ghost"))

    with pytest.raises(CaseNamesNoAccount):
        approve(ctx, reference, sora)
    assert case_status(ctx, reference) == "open"
    deny(ctx, reference, sora)
    assert case_status(ctx, reference) == "denied"


def test_an_operator_cannot_decide_a_case_about_their_own_account(client, ctx):
    sora = make_operator(ctx, "sora")
    reference = opened_reference(open_case(client, login="sora"))

    with pytest.raises(OwnCase) as raised:
        approve(ctx, reference, sora)
    assert raised.value.status == 409 and raised.value.code == "own_case"
    assert case_status(ctx, reference) == "open"
    assert count(ctx, RecoveryAttempt) == 0


def test_only_operators_decide(client, ctx, opened):
    reference, _hana, sora = opened
    ken = make_user(ctx, "ken")

    with pytest.raises(NotAnOperator):
        approve(ctx, reference, ken)
    with ctx.database.session() as db:
        service.revoke_operator(db, ctx, ORIGIN, operator(db, sora), revoked_by="test")
    with pytest.raises(NotAnOperator):
        deny(ctx, reference, sora)
    assert case_status(ctx, reference) == "open"


def test_every_action_is_in_the_audit_log_with_the_operators_id(client, ctx, opened):
    reference, hana, sora = opened
    with ctx.database.session() as db:
        service.view_case(db, ctx, ORIGIN, reference, operator=operator(db, sora), via="test")
        service.open_evidence(db, ctx, ORIGIN, reference, 0, operator=operator(db, sora), via="t")
    approve(ctx, reference, sora)
    other = opened_reference(open_case(client, login="ghost", contact="x@example.net"))
    deny(ctx, other, sora)

    [opened_event, _] = events(ctx, "support.case_opened")
    assert opened_event.user_id == hana and opened_event.details["case"] == reference
    for name in (
        "support.case_viewed",
        "support.evidence_viewed",
        "support.case_approved",
        "support.case_denied",
    ):
        [event] = events(ctx, name)
        assert event.user_id == sora, name
    assert events(ctx, "support.case_approved")[0].details["account"] == hana
    assert events(ctx, "recovery.approved")[0].details["approved_by"] == "sora"
    assert events(ctx, "operator.granted")[0].user_id == sora
    # No secret in any event: no link token, no story, no contact address.
    _link, token = link_in(outbox(client, CONTACT)[0])
    logged = str([e.details for e in events(ctx)])
    assert token not in logged and CONTACT not in logged and "train" not in logged


def test_a_link_that_cannot_be_sent_leaves_the_case_open_and_no_recovery(ctx):
    with smtp_server() as inbox:
        port = inbox.port  # the server is gone once the block ends
    hana = make_user(ctx, "hana")
    sora = make_operator(ctx)
    with app_client(ctx) as client:
        reference = opened_reference(open_case(client, login="hana"))
    down = with_settings(ctx, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")

    with pytest.raises(DeliveryFailed):
        approve(down, reference, sora)

    assert case_status(ctx, reference) == "open"
    assert count(ctx, RecoveryAttempt) == 0
    assert events(ctx, "support.case_approve_failed")
    assert hana


def test_outside_development_the_stored_mail_never_holds_the_link(ctx):
    make_user(ctx, "hana")
    sora = make_operator(ctx)
    with app_client(ctx) as client:
        reference = opened_reference(open_case(client, login="hana"))
    with smtp_server() as inbox:
        production = with_settings(
            ctx, env="production", smtp_host=inbox.host, smtp_port=inbox.port, smtp_security="none"
        )
        approve(production, reference, sora)
    [mail] = [m for m in inbox.mails if m.recipients == [CONTACT]]
    _link, token = link_in({"body": mail.text})
    with ctx.database.session() as db:
        bodies = [m.body for m in stored_messages(db)]
    assert not any(token in body for body in bodies)
    assert any("/recovery/support/••••••" in body for body in bodies)


def test_the_link_never_reaches_the_access_log(caplog):
    import logging

    from mamori.support import views  # installs the filter

    assert views
    logger = logging.getLogger("uvicorn.access")
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "203.0.113.9:5000",
            "GET",
            "/recovery/support/SECRETTOKEN123",
            "1.1",
            303,
        )
    assert "SECRETTOKEN123" not in caplog.text
    assert "/recovery/support/" in caplog.text


def test_a_confirmed_phone_is_told_too(client, ctx):
    hana = make_user(ctx, "hana")
    with ctx.database.session() as db:
        user = db.get(User, hana)
        user.phone, user.phone_confirmed_at = "+819012345678", ctx.clock.now()
    sora = make_operator(ctx)
    reference = opened_reference(open_case(client, login="hana"))

    approve(ctx, reference, sora)

    texts = [m["body"] for m in outbox(client, "+819012345678")]
    assert any(t.startswith("A support case was opened for your account") for t in texts)
    assert any(t.startswith("Support approved a recovery of your account") for t in texts)
    assert not any(CONTACT in t or LINK.search(t) for t in texts)
