"""Telling the owner about a recovery step on every address they have."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.messages import Alert
from mamori.notifications.service import alert_user, send_sms
from mamori.two_factor import service as two_factor


def alert_everywhere(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    alert: Alert,
    **values: object,
) -> None:
    """NIST SP 800-63B-4 §4.2: every recovery step reaches every address on file — the
    e-mail (confirmed or not: it carries no secret) and every confirmed phone."""
    alert_user(db, ctx, user, alert.subject, alert.body, **values)
    secret = values.pop("secret", None)
    _ = translator(user.locale)
    text = _(alert.subject, **values) + "\n" + _(alert.body, **values)
    for phone in _confirmed_phones(db, user):
        try:
            send_sms(
                db,
                ctx,
                to=phone,
                body=text[:600],
                user_id=user.id,
                kind="alert",
                origin=origin,
                secret=str(secret) if secret else None,
                in_background=True,
            )
        except (DeliveryFailed, MamoriError):
            # Marked failed, logged and audited; the recovery step it reports stands.
            continue


def _confirmed_phones(db: Session, user: User) -> list[str]:
    phones = [user.phone] if user.phone and user.phone_confirmed_at else []
    two_factor_phone = two_factor.confirmed_phone(db, user.id)
    if two_factor_phone is not None and two_factor_phone.phone not in phones:
        phones.append(two_factor_phone.phone)
    return phones
