"""The operators' queue: cases listed without unsealing anything, and one case read in full."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.accounts.service import get_user
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.support.cases import find_case, unseal_field
from mamori.support.evidence import EvidenceInfo, evidence_info, evidence_rows
from mamori.support.models import STATUSES, SupportCase, SupportEvidence
from mamori.support.operators import require_operator


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
    case = find_case(db, reference)
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
        login=unseal_field(ctx, case.reference, "login", case.login_sealed),
        contact_email=unseal_field(ctx, case.reference, "contact", case.contact_email_sealed),
        what_happened=unseal_field(ctx, case.reference, "what-happened", case.what_happened_sealed),
        evidence=[evidence_info(ctx, case, row) for row in evidence_rows(db, case)],
        decided_by=decided_by.username if decided_by else None,
        decision=unseal_field(ctx, case.reference, "decision", case.decision_sealed)
        if case.decision_sealed
        else None,
    )


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
