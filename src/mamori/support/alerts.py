"""What support tells people: the account's owner on every registered address, and the
case's contact address."""

from __future__ import annotations

import contextlib

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin
from mamori.context import Context
from mamori.core.errors import MamoriError
from mamori.core.i18n import translator
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.messages import Alert
from mamori.notifications.service import alert_user, send_email, send_sms
from mamori.support.models import SupportCase
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


def mail_contact(
    db: Session, ctx: Context, origin: Origin, case: SupportCase, to: str, message: Alert
) -> None:
    """`message` about the case to its contact address, in the language it was opened in."""
    _ = translator(case.locale)
    # A failure is marked, logged and audited; the case, or the decision, stands.
    with contextlib.suppress(DeliveryFailed):
        send_email(
            db,
            ctx,
            to=to,
            subject=_(message.subject, reference=case.reference),
            body=_(message.body, reference=case.reference),
            # The address is not proven to be the owner's: never in their "Emails from mamori".
            user_id=None,
            kind="support",
            origin=origin,
        )
