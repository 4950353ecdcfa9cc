"""Support cases: the last resort of "Can't log in?", worked by operators.

The rules:

- Anyone may open a case without logging in: the account (what they would type to log
  in), an address to answer to, what happened, and up to 3 files (JPEG, PNG or PDF, told
  apart by their first bytes, never by the type a client claims). The answer is the same
  whether or not the login names an account: the case is stored either way.
- Opening is limited per caller: per IP and per contact address (the acknowledgement
  must not become a way to mail strangers). Never per named account: anyone can type a
  username, and cases naming it must not keep its owner from opening their own. The
  account's alerts are what is limited per account (a few a day), after the answer.
- What happened, the typed login, the contact address and every file are sealed, bound to
  the case and the field (see models.py).
- Only operators (a role granted on the command line) see and decide cases; every view,
  file opened and decision is audited with the operator's user id. A decision is final.
- Approval opens a recovery already proven by support (recovery.service), which always
  waits out the holding period, and mails its link to the contact address; the account's
  registered addresses are told. No operator decides a case about their own account.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import re
import secrets
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.orm import Session

from mamori.accounts.errors import InvalidEmail
from mamori.accounts.models import User
from mamori.accounts.service import find_by_login, find_by_username, get_user, login_key
from mamori.accounts.service import normalize_email as _normalize_email
from mamori.audit.service import Origin, record_event
from mamori.codes.service import mask_destination
from mamori.context import Context
from mamori.core.crypto import Keyring, SealBroken
from mamori.core.errors import MamoriError, TooManyAttempts
from mamori.core.i18n import translator
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.quotas import SendQuota, reserve_sends
from mamori.notifications.service import alert_user, send_email, send_sms
from mamori.recovery.service import start_approved_recovery
from mamori.settings import Settings
from mamori.support.errors import (
    CaseClosed,
    CaseNamesNoAccount,
    CaseNotFound,
    EvidenceNotFound,
    EvidenceTooLarge,
    EvidenceTypeNotAllowed,
    InvalidDescription,
    InvalidEvidence,
    InvalidLogin,
    InvalidNote,
    NotAnOperator,
    OwnCase,
    TooManyFiles,
)
from mamori.support.models import (
    APPROVED,
    DENIED,
    OPEN,
    STATUSES,
    Operator,
    SupportCase,
    SupportEvidence,
)
from mamori.two_factor import service as two_factor

MAX_FILES = 3
MAX_DESCRIPTION = 4000
MAX_DECISION = 1000
MAX_FILENAME = 100
# PDF, PNG and JPEG by their first bytes. A claimed content type is never trusted.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
SUFFIXES = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}
# References people read out and type: no 0/O, 1/I/L, U; 12 characters, about 59 bits.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
REFERENCE = re.compile(rf"[{REFERENCE_ALPHABET}]{{4}}(-[{REFERENCE_ALPHABET}]{{4}}){{2}}")
# Everything but tab, line feed and carriage return among the C0/C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
APPROVED_LINK = "/recovery/support/"


@dataclass(frozen=True)
class Upload:
    """A file as the person attached it; its type is found from its bytes."""

    filename: str
    data: bytes


@dataclass(frozen=True)
class EvidenceInfo:
    position: int
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True)
class CaseSummary:
    """What a list shows: nothing unsealed."""

    reference: str
    status: str
    created_at: datetime
    account: str | None  # the username the login named, None when it named none
    contact_masked: str
    files: int
    decided_at: datetime | None


@dataclass(frozen=True)
class CaseDetails:
    summary: CaseSummary
    login: str
    contact_email: str
    what_happened: str
    evidence: list[EvidenceInfo]
    decided_by: str | None
    decision: str | None  # the approval note or the denial reason


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


def body_limit(settings: Settings) -> int:
    """The request size the routes that take evidence accept: the files as base64 (JSON),
    plus room for the text fields and the form's framing."""
    return -(-settings.support_evidence_max_bytes * 4 // 3) + 64 * 1024


# --- opening a case ----------------------------------------------------------------------


def decode_evidence(ctx: Context, filename: str, data_base64: str) -> Upload:
    """A file sent over the API as base64. Too long to be within the limit: 413 before any
    decoding; not base64: InvalidEvidence."""
    compact = re.sub(r"[ \t\r\n]", "", data_base64)
    if len(compact) * 3 // 4 > ctx.settings.support_evidence_max_bytes + 2:
        raise EvidenceTooLarge()
    try:
        data = base64.b64decode(compact.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise InvalidEvidence() from exc
    return Upload(filename, data)


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
    files = _checked_files(settings, evidence)
    _count_against_quotas(db, ctx, origin, contact)

    user = find_by_login(db, login, settings.default_phone_region)
    if user is not None and user.disabled_at is not None:
        user = None
    reference = _new_reference(db)
    case = SupportCase(
        reference=reference,
        user_id=user.id if user else None,
        login_sealed=_seal(ctx, reference, "login", login.strip()[:254]),
        contact_email_sealed=_seal(ctx, reference, "contact", contact),
        contact_email_masked=mask_destination("email", contact)[:100],
        what_happened_sealed=_seal(ctx, reference, "what-happened", text),
        locale=locale if locale in ("en", "ja") else "en",
        status=OPEN,
        created_at=ctx.clock.now(),
    )
    db.add(case)
    db.flush()
    for position, (name, content_type, data) in enumerate(files):
        key_id, sealed = seal_bytes(ctx.keyring, data, _file_context(reference, position))
        db.add(
            SupportEvidence(
                case_id=case.id,
                position=position,
                filename_sealed=_seal(ctx, reference, f"filename:{position}", name),
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
    case = _case(db, reference)
    contact = _unseal(ctx, case.reference, "contact", case.contact_email_sealed)
    _acknowledge(db, ctx, origin, case, contact)
    user = get_user(db, case.user_id) if case.user_id else None
    if user is not None and _within_alert_quota(db, ctx, user.id):
        _alert_account(
            db,
            ctx,
            origin,
            user,
            "A support case was opened for your account",
            "Someone asked mamori support to help them back into your account "
            "%(username)s (case %(reference)s) and gave %(contact)s as the address to "
            "answer to. If it was you, watch that inbox. If it wasn't, your account stays "
            "as it is: support checks every case, and you'll be told before anything "
            "changes.",
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
    key = login_key(login, settings.default_phone_region) if _encodable(login) else None
    if key is None:
        raise InvalidLogin()
    return key


def _contact_address(contact_email: str) -> str:
    # Stricter than sign-up: a stranger's address goes into a To header, so nothing that
    # would need quoting there (RFC 5322 specials) is taken.
    if not _encodable(contact_email) or any(ch in '<>()[]\\,;:"' for ch in contact_email):
        raise InvalidEmail()
    return _normalize_email(contact_email)


def _description(what_happened: str) -> str:
    text = what_happened.replace("\r\n", "\n").strip()
    if not text or len(text) > MAX_DESCRIPTION or CONTROL.search(text) or not _encodable(text):
        raise InvalidDescription()
    return text


def _plain_note(note: str | None, *, required: bool) -> str | None:
    text = (note or "").replace("\r\n", "\n").strip()
    if not text and not required:
        return None
    if not text or len(text) > MAX_DECISION or CONTROL.search(text) or not _encodable(text):
        raise InvalidNote()
    return text


def _encodable(text: str) -> bool:
    # A lone surrogate (valid in JSON as \ud800) is not text and cannot be stored or sealed.
    return not any(unicodedata.category(ch) == "Cs" for ch in text)


def _checked_files(settings: Settings, uploads: Sequence[Upload]) -> list[tuple[str, str, bytes]]:
    # A browser sends an untouched file field as an empty part with no name: not a file.
    given = [u for u in uploads if u.filename or u.data]
    if len(given) > MAX_FILES:
        raise TooManyFiles()
    if sum(len(u.data) for u in given) > settings.support_evidence_max_bytes:
        raise EvidenceTooLarge()
    files = []
    for position, upload in enumerate(given):
        if not upload.data:
            raise InvalidEvidence()
        content_type = sniff_content_type(upload.data)
        if content_type is None:
            raise EvidenceTypeNotAllowed()
        files.append(
            (safe_filename(upload.filename, position, content_type), content_type, upload.data)
        )
    return files


def sniff_content_type(data: bytes) -> str | None:
    for signature, content_type in SIGNATURES:
        if data.startswith(signature):
            return content_type
    return None


def safe_filename(name: str, position: int, content_type: str) -> str:
    """The file's own name without folders, controls, format characters (such as a
    right-to-left override that makes "gnp.exe" read "exe.png") or lone surrogates,
    ending in the extension of what the file is ("x.exe" holding a PDF is "x.exe.pdf")."""
    text = unicodedata.normalize("NFC", name).replace("\\", "/")
    text = "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cf", "Cs"))
    text = PurePosixPath(text).name.strip().lstrip(".")[:MAX_FILENAME]
    if not text:
        return f"evidence-{position + 1}{EXTENSIONS[content_type]}"
    if not text.lower().endswith(SUFFIXES[content_type]):
        text += EXTENSIONS[content_type]
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


def normalize_reference(typed: str) -> str:
    """ "k7qx 2mda 9rte", "K7QX2MDA9RTE" and "K7QX-2MDA-9RTE" name one case."""
    if len(typed) > 64:
        raise CaseNotFound()
    compact = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", typed)).upper()
    reference = f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"
    if len(compact) != 12 or not REFERENCE.fullmatch(reference):
        raise CaseNotFound()
    return reference


def _acknowledge(db: Session, ctx: Context, origin: Origin, case: SupportCase, to: str) -> None:
    _ = translator(case.locale)
    # A failure is marked, logged and audited; the case stands and operators still see it.
    with contextlib.suppress(DeliveryFailed):
        send_email(
            db,
            ctx,
            to=to,
            subject=_("We received your support case %(reference)s", reference=case.reference),
            body=_(
                "We received your support case %(reference)s about getting back into a "
                "mamori account. We will write to this address once it has been reviewed. "
                "If you didn't ask for this, you can ignore this e-mail.",
                reference=case.reference,
            ),
            # The address is not proven to be the owner's: never in their "Emails from mamori".
            user_id=None,
            kind="support",
            origin=origin,
        )


# --- operators ---------------------------------------------------------------------------


def is_operator(db: Session, user_id: int) -> bool:
    return db.get(Operator, user_id) is not None


def require_operator(db: Session, user: User | None) -> User:
    if user is None or user.disabled_at is not None or not is_operator(db, user.id):
        raise NotAnOperator()
    return user


def grant_operator(
    db: Session, ctx: Context, origin: Origin, user: User, *, granted_by: str
) -> bool:
    """Let `user` work the support queue. False when they already may."""
    if is_operator(db, user.id):
        return False
    db.add(Operator(user_id=user.id, granted_at=ctx.clock.now(), granted_by=granted_by[:64]))
    db.flush()
    record_event(db, ctx.clock, "operator.granted", origin, user_id=user.id, by=granted_by)
    return True


def revoke_operator(
    db: Session, ctx: Context, origin: Origin, user: User, *, revoked_by: str
) -> bool:
    found = db.get(Operator, user.id)
    if found is None:
        return False
    db.delete(found)
    db.flush()
    record_event(db, ctx.clock, "operator.revoked", origin, user_id=user.id, by=revoked_by)
    return True


def find_operator(db: Session, username: str) -> User:
    """The operator named on the command line (`--operator NAME`)."""
    return require_operator(db, find_by_username(db, username))


# --- reading the queue -------------------------------------------------------------------


def list_cases(db: Session, *, status: str | None = None, limit: int = 100) -> list[CaseSummary]:
    """Newest first. Unseals nothing, so it is not audited."""
    query = select(SupportCase).order_by(SupportCase.id.desc()).limit(max(1, min(limit, 1000)))
    if status is not None:
        if status not in STATUSES:
            return []
        query = query.where(SupportCase.status == status)
    return [_summary(db, case) for case in db.scalars(query)]


def view_case(
    db: Session, ctx: Context, origin: Origin, reference: str, *, operator: User | None, via: str
) -> CaseDetails:
    """Everything in a case, unsealed; audited with who looked (`operator` is None only
    on the command line without --operator)."""
    if operator is not None:
        require_operator(db, operator)
    case = _case(db, reference)
    record_event(
        db,
        ctx.clock,
        "support.case_viewed",
        origin,
        user_id=operator.id if operator else None,
        case=case.reference,
        account=case.user_id,
        via=via,
    )
    decided_by = get_user(db, case.decided_by) if case.decided_by else None
    return CaseDetails(
        summary=_summary(db, case),
        login=_unseal(ctx, case.reference, "login", case.login_sealed),
        contact_email=_unseal(ctx, case.reference, "contact", case.contact_email_sealed),
        what_happened=_unseal(ctx, case.reference, "what-happened", case.what_happened_sealed),
        evidence=[_evidence_info(ctx, case, row) for row in _evidence_rows(db, case)],
        decided_by=decided_by.username if decided_by else None,
        decision=_unseal(ctx, case.reference, "decision", case.decision_sealed)
        if case.decision_sealed
        else None,
    )


def open_evidence(
    db: Session,
    ctx: Context,
    origin: Origin,
    reference: str,
    position: int,
    *,
    operator: User | None,
    via: str,
) -> tuple[EvidenceInfo, bytes]:
    """One file's bytes, unsealed; audited."""
    if operator is not None:
        require_operator(db, operator)
    case = _case(db, reference)
    row = db.scalar(
        select(SupportEvidence).where(
            SupportEvidence.case_id == case.id, SupportEvidence.position == position
        )
    )
    if row is None:
        raise EvidenceNotFound()
    data = unseal_bytes(
        ctx.keyring, row.key_id, row.sealed, _file_context(case.reference, position)
    )
    record_event(
        db,
        ctx.clock,
        "support.evidence_viewed",
        origin,
        user_id=operator.id if operator else None,
        case=case.reference,
        account=case.user_id,
        file=position,
        via=via,
    )
    return _evidence_info(ctx, case, row), data


def _case(db: Session, reference: str, *, lock: bool = False) -> SupportCase:
    query = select(SupportCase).where(SupportCase.reference == normalize_reference(reference))
    case = db.scalar(query.with_for_update() if lock else query)
    if case is None:
        raise CaseNotFound()
    return case


def _summary(db: Session, case: SupportCase) -> CaseSummary:
    account = get_user(db, case.user_id) if case.user_id else None
    files = db.scalar(
        select(func.count()).select_from(SupportEvidence).where(SupportEvidence.case_id == case.id)
    )
    return CaseSummary(
        reference=case.reference,
        status=case.status,
        created_at=case.created_at,
        account=account.username if account else None,
        contact_masked=case.contact_email_masked,
        files=int(files or 0),
        decided_at=case.decided_at,
    )


def _evidence_rows(db: Session, case: SupportCase) -> list[SupportEvidence]:
    return list(
        db.scalars(
            select(SupportEvidence)
            .where(SupportEvidence.case_id == case.id)
            .order_by(SupportEvidence.position)
        )
    )


def _evidence_info(ctx: Context, case: SupportCase, row: SupportEvidence) -> EvidenceInfo:
    name = _unseal(ctx, case.reference, f"filename:{row.position}", row.filename_sealed)
    return EvidenceInfo(row.position, name, row.content_type, row.size)


# --- deciding ----------------------------------------------------------------------------


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
    case = _case(db, reference, lock=True)
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
    contact = _unseal(ctx, case.reference, "contact", case.contact_email_sealed)
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
    _alert_account(
        db,
        ctx,
        origin,
        user,
        "Support approved a recovery of your account",
        "mamori support approved a recovery of your account %(username)s (case "
        "%(reference)s) and sent a link to set a new password to %(contact)s. A new "
        "password set with it takes effect only after a waiting period, and you'll be "
        "told before. If this wasn't you, log in and cancel the recovery under Password "
        "and security.",
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
    case = _case(db, reference, lock=True)
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
    contact = _unseal(ctx, case.reference, "contact", case.contact_email_sealed)
    _ = translator(case.locale)
    # A failure is marked, logged and audited; the decision stands.
    with contextlib.suppress(DeliveryFailed):
        send_email(
            db,
            ctx,
            to=contact,
            subject=_("Your support case %(reference)s", reference=case.reference),
            body=_(
                "We reviewed your support case %(reference)s and could not confirm that "
                "you can be given access to the account, so the case is closed. If you "
                "still can't log in, you can open a new case with more details.",
                reference=case.reference,
            ),
            user_id=None,
            kind="support",
            origin=origin,
        )


def _decide(
    db: Session, ctx: Context, case: SupportCase, status: str, operator: User, text: str | None
) -> None:
    """One conditional UPDATE: of two operators deciding at once, one wins, the other
    gets CaseClosed."""
    result = cast(
        CursorResult[Any],
        db.execute(
            update(SupportCase)
            .where(SupportCase.id == case.id, SupportCase.status == OPEN)
            .values(
                status=status,
                decided_at=ctx.clock.now(),
                decided_by=operator.id,
                decision_sealed=_seal(ctx, case.reference, "decision", text) if text else None,
            )
            .execution_options(synchronize_session=False)
        ),
    )
    if result.rowcount != 1:
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
        subject=_("Your support case %(reference)s was approved", reference=case.reference),
        body=_(
            "Support approved your case %(reference)s. Set a new password for the account "
            "%(username)s with this link within %(hours)s hours:\n\n%(link)s\n\nFor the "
            "account's safety the new password takes effect %(holding)s hours after you set "
            "it, and the account's owner is told. Don't share this link.",
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


def _alert_account(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    subject: str,
    body: str,
    **values: object,
) -> None:
    """Every registered address: the e-mail (alert_user) and every confirmed phone."""
    alert_user(db, ctx, user, subject, body, **values)
    _ = translator(user.locale)
    text = (_(subject, **values) + "\n" + _(body, **values))[:600]
    phones = [user.phone] if user.phone and user.phone_confirmed_at else []
    second = two_factor.confirmed_phone(db, user.id)
    if second is not None and second.phone not in phones:
        phones.append(second.phone)
    for phone in phones:
        try:
            send_sms(db, ctx, to=phone, body=text, user_id=user.id, kind="alert", origin=origin)
        except (DeliveryFailed, MamoriError):
            continue  # marked failed, logged and audited; what it reports stands


# --- sealing -----------------------------------------------------------------------------


def _seal(ctx: Context, reference: str, field: str, text: str) -> str:
    return ctx.keyring.seal(text, f"support-case:{reference}:{field}")


def _unseal(ctx: Context, reference: str, field: str, sealed: str) -> str:
    return ctx.keyring.unseal(sealed, f"support-case:{reference}:{field}")


def _file_context(reference: str, position: int) -> str:
    return f"support-case:{reference}:file:{position}"


def seal_bytes(keyring: Keyring, data: bytes, context: str) -> tuple[str, bytes]:
    """AES-GCM under the current sealing key, `context` bound as associated data:
    (key id, nonce ‖ ciphertext). The keyring's own seal() is for text."""
    nonce = secrets.token_bytes(12)
    key = keyring.sealing_keys[keyring.current_key_id]
    return keyring.current_key_id, nonce + AESGCM(key).encrypt(nonce, data, context.encode())


def unseal_bytes(keyring: Keyring, key_id: str, sealed: bytes, context: str) -> bytes:
    key = keyring.sealing_keys.get(key_id)
    if key is None:
        raise SealBroken(f"unknown sealing key id {key_id!r}")
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], context.encode())
    except InvalidTag as exc:
        raise SealBroken("sealed file does not open") from exc
