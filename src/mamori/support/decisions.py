"""Deciding a case: an operator approves (a support-proven recovery) or denies it, once."""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.db import changed_one
from mamori.core.i18n import translator
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.service import send_email
from mamori.recovery.service import start_approved_recovery
from mamori.support import messages
from mamori.support.alerts import alert_account, mail_contact
from mamori.support.cases import CONTROL, encodable, find_case, seal_field, unseal_field
from mamori.support.errors import CaseClosed, CaseNamesNoAccount, InvalidNote, OwnCase
from mamori.support.models import APPROVED, DENIED, OPEN, SupportCase
from mamori.support.operators import require_operator

MAX_DECISION = 1000
APPROVED_LINK = "/recovery/support/"


def approve_case(
    db: Session,
    ctx: Context,
    origin: Origin,
    reference: str,
    *,
    operator: User,
    note: str | None = None,
) -> None:
    """Open a support-proven recovery of the case's account and mail its link to the
    case's contact address. Only an open case naming an active account; never the
    operator's own account."""
    require_operator(db, operator)
    text = _plain_note(note, required=False)
    case = find_case(db, reference, lock=True)
    if case.status != OPEN:
        raise CaseClosed()
    user = get_user(db, case.user_id) if case.user_id else None
    if user is None or user.disabled_at is not None:
        raise CaseNamesNoAccount()
    # Four eyes: approval stands in for every proof, so an operator approving their own
    # case would recover an account on their own word alone; and whoever got hold of an
    # operator's session could have the operator's own account (and role) sent to an
    # address of theirs. Another operator must decide.
    if user.id == operator.id:
        raise OwnCase()
    contact = unseal_field(ctx, case.reference, "contact", case.contact_email_sealed)
    try:
        # One unit: if the link cannot be sent, the case stays open and no recovery exists.
        with db.begin_nested():
            _decide(db, ctx, case, APPROVED, operator, text)
            token = start_approved_recovery(db, ctx, origin, user, approved_by=operator.username)
            _send_link(db, ctx, origin, case, user, contact, token)
    except DeliveryFailed:
        record_event(
            db,
            ctx.clock,
            "support.case_approve_failed",
            origin,
            user_id=operator.id,
            outcome="failure",
            case=case.reference,
            account=user.id,
            reason="delivery_failed",
        )
        raise
    record_event(
        db,
        ctx.clock,
        "support.case_approved",
        origin,
        user_id=operator.id,
        case=case.reference,
        account=user.id,
        note=text is not None,
    )
    alert_account(
        db,
        ctx,
        origin,
        user,
        messages.RECOVERY_APPROVED,
        username=user.username,
        reference=case.reference,
        contact=case.contact_email_masked,
    )


def deny_case(
    db: Session, ctx: Context, origin: Origin, reference: str, *, operator: User, reason: str
) -> None:
    """Close the case without a recovery; the contact address is told in general words."""
    require_operator(db, operator)
    text = _plain_note(reason, required=True)
    case = find_case(db, reference, lock=True)
    if case.status != OPEN:
        raise CaseClosed()
    # Four eyes here too: if the operator's own account was taken over, the real owner's
    # case must not be buried by the one holding it.
    if case.user_id is not None and case.user_id == operator.id:
        raise OwnCase()
    _decide(db, ctx, case, DENIED, operator, text)
    record_event(
        db,
        ctx.clock,
        "support.case_denied",
        origin,
        user_id=operator.id,
        case=case.reference,
        account=case.user_id,
    )
    contact = unseal_field(ctx, case.reference, "contact", case.contact_email_sealed)
    mail_contact(db, ctx, origin, case, contact, messages.CASE_DENIED)


def _plain_note(note: str | None, *, required: bool) -> str | None:
    text = (note or "").replace("\r\n", "\n").strip()
    if not text and not required:
        return None
    if not text or len(text) > MAX_DECISION or CONTROL.search(text) or not encodable(text):
        raise InvalidNote()
    return text


def _decide(
    db: Session, ctx: Context, case: SupportCase, status: str, operator: User, text: str | None
) -> None:
    """One conditional UPDATE: of two operators deciding at once, one wins, the other
    gets CaseClosed."""
    result = db.execute(
        update(SupportCase)
        .where(SupportCase.id == case.id, SupportCase.status == OPEN)
        .values(
            status=status,
            decided_at=ctx.clock.now(),
            decided_by=operator.id,
            decision_sealed=seal_field(ctx, case.reference, "decision", text) if text else None,
        )
        .execution_options(synchronize_session=False)
    )
    if not changed_one(result):
        raise CaseClosed()
    db.refresh(case)


def _send_link(
    db: Session,
    ctx: Context,
    origin: Origin,
    case: SupportCase,
    user: User,
    contact: str,
    token: str,
) -> None:
    # From configuration, never from the request's Host header.
    link = f"{ctx.settings.base_url.rstrip('/')}{APPROVED_LINK}{token}"
    _ = translator(user.locale)
    send_email(
        db,
        ctx,
        to=contact,
        subject=_(messages.CASE_APPROVED.subject, reference=case.reference),
        body=_(
            messages.CASE_APPROVED.body,
            reference=case.reference,
            username=user.username,
            hours=ctx.settings.recovery_attempt_hours,
            link=link,
            holding=ctx.settings.recovery_holding_hours,
        ),
        user_id=None,
        kind="support",
        # Outside development the stored copy has the link's secret blanked.
        secret=token,
        origin=origin,
    )
