"""Opening a case: anyone, without logging in, alike whether or not the login names an account."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.errors import InvalidEmail
from mamori.accounts.service import find_by_login, get_user, login_key
from mamori.accounts.service import normalize_email as _normalize_email
from mamori.audit.service import Origin, record_event
from mamori.codes.service import mask_destination
from mamori.context import Context
from mamori.core.errors import TooManyAttempts
from mamori.notifications.quotas import SendQuota, reserve_sends
from mamori.settings import Settings
from mamori.support import messages
from mamori.support.alerts import alert_account, mail_contact
from mamori.support.cases import (
    CONTROL,
    REFERENCE_ALPHABET,
    encodable,
    file_context,
    find_case,
    seal_bytes,
    seal_field,
    unseal_field,
)
from mamori.support.errors import InvalidDescription, InvalidLogin
from mamori.support.evidence import Upload, checked_files
from mamori.support.models import OPEN, SupportCase, SupportEvidence

MAX_DESCRIPTION = 4000


# --- throttles ---------------------------------------------------------------------------


def _per_day(name: str, free: int) -> SendQuota:
    # Cases, not failures: `free` a day, then the rest of the day is waited out.
    return SendQuota(name=name, window=timedelta(days=1), limit=free)


def ip_quota(settings: Settings) -> SendQuota:
    return _per_day("support-case-ip", settings.support_cases_per_ip_day)


def alert_quota(settings: Settings) -> SendQuota:
    """Alerts to one account about cases naming it: a few a day, so strangers' cases
    cannot flood the owner's inbox. It never refuses a case."""
    return _per_day("support-case-alert", settings.support_cases_per_account_day)


def contact_quota(settings: Settings) -> SendQuota:
    return _per_day("support-case-contact", settings.support_cases_per_contact_day)


# --- opening a case ----------------------------------------------------------------------


def open_support_case(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    login: str,
    contact_email: str,
    what_happened: str,
    evidence: Sequence[Upload],
    locale: str,
) -> str:
    """Store a case and return its reference, alike whether or not `login` names an
    account. Everything is checked before anything is stored or counted. The e-mails
    that tell people about it are send_case_notices' work."""
    settings = ctx.settings
    key = _login_key(settings, login)
    contact = _contact_address(contact_email)
    text = _description(what_happened)
    files = checked_files(settings, evidence)
    _count_against_quotas(db, ctx, origin, contact)

    user = find_by_login(db, login, settings.default_phone_region)
    if user is not None and user.disabled_at is not None:
        user = None
    reference = _new_reference(db)
    case = SupportCase(
        reference=reference,
        user_id=user.id if user else None,
        login_sealed=seal_field(ctx, reference, "login", login.strip()[:254]),
        contact_email_sealed=seal_field(ctx, reference, "contact", contact),
        contact_email_masked=mask_destination("email", contact)[:100],
        what_happened_sealed=seal_field(ctx, reference, "what-happened", text),
        locale=locale if locale in ("en", "ja") else "en",
        status=OPEN,
        created_at=ctx.clock.now(),
    )
    db.add(case)
    db.flush()
    for position, (name, content_type, data) in enumerate(files):
        key_id, sealed = seal_bytes(ctx.keyring, data, file_context(reference, position))
        db.add(
            SupportEvidence(
                case_id=case.id,
                position=position,
                filename_sealed=seal_field(ctx, reference, f"filename:{position}", name),
                content_type=content_type,
                size=len(data),
                key_id=key_id,
                sealed=sealed,
            )
        )
    db.flush()
    record_event(
        db,
        ctx.clock,
        "support.case_opened",
        origin,
        user_id=case.user_id,
        case=reference,
        login_kind=key.partition(":")[0],
        matched=user is not None,
        files=len(files),
    )
    return reference


def send_case_notices(db: Session, ctx: Context, origin: Origin, reference: str) -> None:
    """The acknowledgement to the contact address and, when the case names an account,
    the alert to that account's own addresses.

    Routes run this after the answer is sent: only a matched account gets the alert, so
    sending it within the request would make known accounts answer measurably slower."""
    case = find_case(db, reference)
    contact = unseal_field(ctx, case.reference, "contact", case.contact_email_sealed)
    mail_contact(db, ctx, origin, case, contact, messages.CASE_RECEIVED)
    user = get_user(db, case.user_id) if case.user_id else None
    if user is not None and _within_alert_quota(db, ctx, user.id):
        alert_account(
            db,
            ctx,
            origin,
            user,
            messages.CASE_OPENED,
            username=user.username,
            reference=case.reference,
            contact=case.contact_email_masked,
        )


def _within_alert_quota(db: Session, ctx: Context, user_id: int) -> bool:
    try:
        reserve_sends(db, ctx.clock, [(alert_quota(ctx.settings), f"user:{user_id}")])
    except TooManyAttempts:
        return False
    return True


def _login_key(settings: Settings, login: str) -> str:
    key = login_key(login, settings.default_phone_region) if encodable(login) else None
    if key is None:
        raise InvalidLogin()
    return key


def _contact_address(contact_email: str) -> str:
    # Stricter than sign-up: a stranger's address goes into a To header, so nothing that
    # would need quoting there (RFC 5322 specials) is taken.
    if not encodable(contact_email) or any(ch in '<>()[]\\,;:"' for ch in contact_email):
        raise InvalidEmail()
    return _normalize_email(contact_email)


def _description(what_happened: str) -> str:
    text = what_happened.replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_DESCRIPTION or CONTROL.search(text) or not encodable(text):
        raise InvalidDescription()
    return text


def _count_against_quotas(db: Session, ctx: Context, origin: Origin, contact: str) -> None:
    settings, keyring = ctx.settings, ctx.keyring
    # The caller, never the account named. Subjects are digests: no address is stored.
    quotas = [
        (ip_quota(settings), origin.ip or "unknown"),
        (
            contact_quota(settings),
            keyring.keyed_digest("throttle-support-contact", contact.casefold())[:32],
        ),
    ]
    try:
        reserve_sends(db, ctx.clock, quotas)  # atomically: a burst opens only what is left
    except TooManyAttempts:
        record_event(
            db, ctx.clock, "support.case_refused", origin, outcome="failure", reason="throttled"
        )
        raise


def _new_reference(db: Session) -> str:
    while True:
        raw = "".join(secrets.choice(REFERENCE_ALPHABET) for _ in range(12))
        reference = f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"
        if db.scalar(select(SupportCase.id).where(SupportCase.reference == reference)) is None:
            return reference
