"""Telling an account's owner about a case that names it, on every registered address."""

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


def alert_account(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    alert: Alert,
    **values: object,
) -> None:
    """Every registered address: the e-mail (alert_user) and every confirmed phone."""
    alert_user(db, ctx, user, alert.subject, alert.body, **values)
    _ = translator(user.locale)
    text = (_(alert.subject, **values) + "\n" + _(alert.body, **values))[:600]
    phones = [user.phone] if user.phone and user.phone_confirmed_at else []
    second = two_factor.confirmed_phone(db, user.id)
    if second is not None and second.phone not in phones:
        phones.append(second.phone)
    for phone in phones:
        try:
            send_sms(db, ctx, to=phone, body=text, user_id=user.id, kind="alert", origin=origin)
        except (DeliveryFailed, MamoriError):
            continue  # marked failed, logged and audited; what it reports stands
