"""E-mail through a real SMTP server, texts through a local server speaking Twilio's API.

Security codes are handed over at once (the person is waiting); everything else is queued
and handed over by the delivery worker (`deliver_pending`), tested in test_delivery.py."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from mamori.audit.service import Origin, recent_events
from mamori.context import Context
from mamori.notifications.delivery import DeliveryCounts, deliver_pending
from mamori.notifications.errors import DeliveryFailed, DeliveryNotConfigured
from mamori.notifications.outbox import outbox
from mamori.notifications.service import REDACTED, alert_user, send_email, send_sms
from mamori.sessions.http import unauthenticated_api_request
from mamori.sign_up.service import sign_up
from mamori.web.errors import install_error_handlers
from tests.conftest import PASSWORD
from tests.notifications.conftest import configured
from tests.notifications.fakes import (
    SENDER,
    SmtpInbox,
    provider_settings,
    self_signed_certificate,
    sms_provider,
    smtp_server,
)

JAPANESE = "新しい端末からログインがありました。心当たりがない場合はパスワードを変更してください。"


def smtp_settings(inbox: SmtpInbox, **extra: Any) -> dict[str, Any]:
    return {"smtp_host": inbox.host, "smtp_port": inbox.port, "smtp_security": "none", **extra}


def test_an_email_reaches_the_smtp_server_with_its_japanese_body_intact(ctx):
    with smtp_server() as inbox:
        mailer = configured(ctx, **smtp_settings(inbox))
        with mailer.database.session() as db:
            sent = send_email(
                db,
                mailer,
                to="hana@example.com",
                subject="ログインの通知",
                body=JAPANESE,
                user_id=None,
            )
        assert sent.status == "pending"
        assert inbox.mails == []  # queued, not yet handed over
        assert deliver_pending(mailer) == DeliveryCounts(sent=1)
    assert len(inbox.mails) == 1
    mail = inbox.mails[0]
    assert mail.recipients == ["hana@example.com"]
    assert mail.sender == "no-reply@localhost"
    assert mail.message["Subject"] == "ログインの通知"
    assert mail.message["From"] == "mamori <no-reply@localhost>"
    assert mail.message.get_content_charset() == "utf-8"
    assert mail.text.strip() == JAPANESE
    with ctx.database.session() as db:
        stored = outbox(db)[0]
        assert stored.provider_ref == mail.message["Message-ID"]
        assert stored.attempts == 1
        assert (stored.to, stored.subject, stored.body, stored.status) == (
            "hana@example.com",
            "ログインの通知",
            JAPANESE,
            "sent",
        )


def test_starttls_with_a_private_ca_and_a_login(ctx, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(certificate=certificate, credentials=("mamori", "smtp secret")) as inbox:
        mailer = configured(
            ctx,
            **smtp_settings(
                inbox,
                smtp_security="starttls",
                smtp_ca_file=certificate.cert_file,
                smtp_username="mamori",
                smtp_password="smtp secret",
            ),
        )
        with mailer.database.session() as db:
            send_email(
                db, mailer, to="hana@example.com", subject="Hello", body="Over TLS", user_id=None
            )
        deliver_pending(mailer)
    assert [mail.text.strip() for mail in inbox.mails] == ["Over TLS"]
    assert [login for login, _ in inbox.logins] == ["mamori"]


def test_implicit_tls(ctx, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(certificate=certificate, implicit_tls=True) as inbox:
        mailer = configured(
            ctx, **smtp_settings(inbox, smtp_security="tls", smtp_ca_file=certificate.cert_file)
        )
        with mailer.database.session() as db:
            send_email(
                db,
                mailer,
                to="hana@example.com",
                subject="Hi",
                body="TLS from the start",
                user_id=None,
            )
        deliver_pending(mailer)
    assert [mail.text.strip() for mail in inbox.mails] == ["TLS from the start"]


def test_an_untrusted_certificate_fails_the_delivery_instead_of_sending_in_the_clear(ctx, tmp_path):
    certificate = self_signed_certificate(tmp_path)
    with smtp_server(certificate=certificate) as inbox:
        mailer = configured(ctx, **smtp_settings(inbox, smtp_security="starttls"))
        with mailer.database.session() as db:
            send_email(
                db, mailer, to="hana@example.com", subject="Hi", body="secret-free", user_id=None
            )
        assert deliver_pending(mailer) == DeliveryCounts(retrying=1)
        with pytest.raises(DeliveryFailed), mailer.database.session() as db:
            send_email(
                db,
                mailer,
                to="hana@example.com",
                subject="Code",
                body="Code 271828",
                user_id=None,
                kind="code",
                secret="271828",
            )
    assert inbox.mails == []
    with ctx.database.session() as db:
        code, alert = outbox(db)
        assert (code.status, alert.status) == ("failed", "pending")
        assert alert.last_error and alert.last_error.startswith("smtp ")


def test_a_refused_recipient_is_a_failed_delivery_logged_and_audited_without_the_body(ctx, caplog):
    with smtp_server() as inbox:
        inbox.refuse_recipients.add("gone@example.com")
        mailer = configured(ctx, **smtp_settings(inbox))
        origin = Origin(ip="203.0.113.7", user_agent="test")
        with (
            caplog.at_level(logging.WARNING, logger="mamori"),
            pytest.raises(DeliveryFailed) as failure,
            mailer.database.session() as db,
        ):
            send_email(
                db,
                mailer,
                to="gone@example.com",
                subject="Your code",
                body="Your code is 493817",
                user_id=None,
                kind="code",
                secret="493817",
                origin=origin,
            )
    assert failure.value.code == "delivery_failed"
    assert failure.value.status == 502
    assert inbox.mails == []
    with ctx.database.session() as db:
        message = outbox(db)[0]
        assert message.status == "failed"
        [event] = recent_events(db, event="delivery.failed")
        assert event.outcome == "failure"
        assert event.ip == "203.0.113.7"
        assert event.details["channel"] == "email"
        assert "550" in event.details["reason"]
        assert "493817" not in str(event.details)
    assert "delivery failed" in caplog.text
    assert "493817" not in caplog.text
    assert "gone@example.com" not in caplog.text


def test_an_smtp_server_that_is_down_is_a_failed_delivery(ctx):
    with smtp_server() as inbox:
        port = inbox.port
    mailer = configured(ctx, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none")
    with pytest.raises(DeliveryFailed), mailer.database.session() as db:
        send_email(
            db,
            mailer,
            to="hana@example.com",
            subject="Code",
            body="Code 314159",
            user_id=None,
            kind="code",
            secret="314159",
        )
    with ctx.database.session() as db:
        message = outbox(db)[0]
        assert message.status == "failed"
        assert message.last_error == "smtp SMTPConnectError"
        assert recent_events(db, event="delivery.failed")


def test_a_text_goes_to_the_provider_with_basic_auth_and_twilio_form_fields(ctx):
    with sms_provider() as provider:
        texter = configured(ctx, **provider_settings(provider))
        with texter.database.session() as db:
            sent = send_sms(db, texter, to="+819012345678", body="テスト 123456", user_id=None)
    assert provider.rejected_auth == 0
    assert provider.texts == [{"To": "+819012345678", "From": SENDER, "Body": "テスト 123456"}]
    assert sent is not None and sent.status == "sent"
    assert sent.provider_ref is not None and sent.provider_ref.startswith("SM")


def test_a_wrong_provider_token_is_a_failed_delivery(ctx):
    with sms_provider() as provider:
        texter = configured(ctx, **{**provider_settings(provider), "sms_auth_token": "wrong"})
        with pytest.raises(DeliveryFailed), texter.database.session() as db:
            send_sms(db, texter, to="+819012345678", body="hello", user_id=None)
    assert provider.rejected_auth == 1
    assert provider.texts == []


@pytest.mark.parametrize("mode", ["error", "slow", "failed"])
def test_a_provider_that_fails_or_hangs_raises_delivery_failed_and_is_audited(ctx, mode):
    with sms_provider() as provider:
        provider.mode = mode
        texter = configured(ctx, **provider_settings(provider), delivery_timeout_seconds=0.3)
        with pytest.raises(DeliveryFailed), texter.database.session() as db:
            send_sms(
                db, texter, to="+819012345678", body="code 111222", user_id=None, secret="111222"
            )
    with ctx.database.session() as db:
        assert outbox(db)[0].status == "failed"
        [event] = recent_events(db, event="delivery.failed")
        assert event.details["channel"] == "sms"
        assert "111222" not in str(event.details)


def test_delivery_failed_reaches_a_client_as_problem_json(ctx):
    with sms_provider() as provider:
        provider.mode = "error"
        texter = configured(ctx, **provider_settings(provider))
        app = FastAPI()
        install_error_handlers(app, unauthenticated_api_request)

        @app.post("/text")
        def text_someone() -> None:
            with texter.database.session() as db:
                send_sms(db, texter, to="+819012345678", body="hi", user_id=None)

        answer = TestClient(app).post("/text")
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "delivery_failed"
    assert answer.json()["channel"] == "sms"
    with ctx.database.session() as db:
        # The failed row and the audit event survive the error: nobody is told it was sent.
        assert outbox(db)[0].status == "failed"


def test_production_without_a_channel_refuses_instead_of_pretending(ctx):
    production = configured(ctx, env="production")
    with pytest.raises(DeliveryNotConfigured) as failure, production.database.session() as db:
        send_sms(
            db, production, to="+819012345678", body="code 123456", user_id=None, secret="123456"
        )
    assert failure.value.status == 503
    assert failure.value.code == "delivery_failed"
    with ctx.database.session() as db:
        message = outbox(db)[0]
        assert message.status == "failed"
        assert "123456" not in message.body


def test_development_without_a_channel_delivers_to_the_outbox(ctx, client):
    with ctx.database.session() as db:
        send_sms(db, ctx, to="+819012345678", body="code 123456", user_id=None, secret="123456")
    [entry] = client.get("/dev/outbox").json()
    assert entry["channel"] == "sms"
    assert entry["to"] == "+819012345678"
    assert entry["body"] == "code 123456"  # the outbox is how a developer reads the code
    assert entry["status"] == "outbox"


def test_outside_development_the_stored_copy_never_holds_the_secret(ctx):
    with sms_provider() as provider:
        texter = configured(ctx, env="production", **provider_settings(provider))
        with texter.database.session() as db:
            send_sms(
                db,
                texter,
                to="+819012345678",
                body="Your code: 654321",
                user_id=None,
                secret="654321",
            )
    assert provider.bodies_to("+819012345678") == ["Your code: 654321"]
    with ctx.database.session() as db:
        assert outbox(db)[0].body == f"Your code: {REDACTED}"


def _user(ctx: Context, email: str | None = "hana@example.com"):
    with ctx.database.session() as db:
        user = sign_up(
            db, ctx, Origin(), username="hana", password=PASSWORD, email=email, locale="ja"
        )
        db.expunge(user)
    return user


def test_an_alert_goes_out_by_smtp_in_the_users_language(ctx):
    user = _user(ctx)
    with smtp_server() as inbox:
        mailer = configured(ctx, **smtp_settings(inbox))
        with mailer.database.session() as db:
            message = alert_user(
                db,
                mailer,
                user,
                "Your password was changed",
                "The password of your account %(username)s was changed.",
                username="hana",
            )
        assert message is not None and message.status == "pending"
        assert deliver_pending(mailer) == DeliveryCounts(sent=1)
    [mail] = inbox.mails
    assert mail.recipients == ["hana@example.com"]
    assert mail.message["Subject"] == "パスワードが変更されました"
    assert "hana" in mail.text
    assert "http://localhost/accounts/wasnt-me/" in mail.text  # "This wasn't me"


def test_a_failed_alert_is_recorded_and_audited_but_does_not_undo_the_change(ctx):
    user = _user(ctx)
    with smtp_server() as inbox:
        port = inbox.port
    mailer = configured(
        ctx, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", delivery_max_attempts=1
    )
    with mailer.database.session() as db:
        message = alert_user(
            db,
            mailer,
            user,
            "Your password was changed",
            "The password of your account %(username)s was changed.",
            username="hana",
        )
    assert message is not None and message.status == "pending"
    assert deliver_pending(mailer) == DeliveryCounts(failed=1)
    with ctx.database.session() as db:
        assert outbox(db)[0].status == "failed"
        [event] = recent_events(db, event="delivery.failed")
        assert event.user_id == user.id


def test_an_alert_without_a_delivery_channel_is_kept_in_the_outbox(ctx):
    user = _user(ctx)
    with ctx.database.session() as db:
        message = alert_user(
            db,
            ctx,
            user,
            "Your password was changed",
            "The password of your account %(username)s was changed.",
            username="hana",
        )
    assert message is not None
    assert message.to == "hana@example.com"
    assert message.status == "outbox"
    assert deliver_pending(ctx) == DeliveryCounts()  # nothing for a worker to do


def test_no_email_no_alert(ctx):
    user = _user(ctx, email=None)
    with ctx.database.session() as db:
        assert alert_user(db, ctx, user, "Your password was changed", "…") is None
        assert outbox(db) == []


def test_a_half_configured_provider_is_a_failed_delivery_naming_the_missing_settings(ctx, caplog):
    texter = configured(ctx, sms_provider_url="http://127.0.0.1:9", sms_account_sid=None)
    with (
        caplog.at_level(logging.WARNING, logger="mamori"),
        pytest.raises(DeliveryFailed),
        texter.database.session() as db,
    ):
        send_sms(db, texter, to="+819012345678", body="hi", user_id=None)
    assert "MAMORI_SMS_ACCOUNT_SID" in caplog.text
    with ctx.database.session() as db:
        assert outbox(db)[0].status == "failed"
