"""Helpers for delivery tests: a mailer context, alerts, rows as stored, `mamori outbox …`."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from typer.testing import CliRunner, Result

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.notifications.models import OutboxMessage
from mamori.notifications.service import alert_user
from mamori.sign_up.service import sign_up
from tests.conftest import PASSWORD
from tests.notifications.conftest import configured


def mailer(ctx: Context, port: int, **settings: Any) -> Context:
    """The context with an SMTP server at 127.0.0.1:`port` (running or not)."""
    return configured(ctx, smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", **settings)


def user(ctx: Context, username: str = "hana", locale: str = "en") -> User:
    with ctx.database.session() as db:
        created = sign_up(
            db,
            ctx,
            Origin(),
            username=username,
            password=PASSWORD,
            email=f"{username}@example.com",
            locale=locale,
        )
        db.expunge(created)
    return created


def password_alert(ctx: Context, owner: User, **extra: object) -> int:
    """What a password change does: alert the owner, in one unit of work with the change."""
    with ctx.database.session() as db:
        message = alert_user(
            db,
            ctx,
            owner,
            "Your password was changed",
            "The password of your account %(username)s was changed.",
            username=owner.username,
            **extra,
        )
        assert message is not None
        return message.id


def stored(ctx: Context, message_id: int) -> OutboxMessage:
    with ctx.database.session() as db:
        message = db.get(OutboxMessage, message_id)
        assert message is not None
        db.expunge(message)
        return message


def all_messages(ctx: Context) -> list[OutboxMessage]:
    with ctx.database.session() as db:
        found = list(db.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
        db.expunge_all()
        return found


def outbox_cli(ctx: Context, *args: str) -> Result:
    """`mamori outbox …` as an operator runs it, with the context's delivery settings."""
    from mamori.cli import app

    settings = ctx.settings
    environment = {
        "MAMORI_DATABASE_URL": ctx.database.url,
        "MAMORI_DATA_DIR": str(settings.data_dir),
        "MAMORI_ENV": settings.env,
        "MAMORI_REDIS_URL": "",
        "MAMORI_SMTP_HOST": settings.smtp_host or "",
        "MAMORI_SMTP_PORT": str(settings.smtp_port),
        "MAMORI_SMTP_SECURITY": settings.smtp_security,
        "MAMORI_DELIVERY_MAX_ATTEMPTS": str(settings.delivery_max_attempts),
        "MAMORI_DELIVERY_WORKER": "false",
    }
    return CliRunner().invoke(app, ["outbox", *args], env=environment)
