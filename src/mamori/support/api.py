"""JSON route: open a support case, the last resort of "Can't log in?" (no login needed).

Deciding cases is for operators, on the command line (`mamori support …`) or their pages.
"""

from __future__ import annotations

from fastapi import APIRouter, BackgroundTasks, Request, status
from pydantic import BaseModel, Field

from mamori.audit.service import Origin
from mamori.context import Context
from mamori.sessions.signed_in import Db
from mamori.support import service
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import request_locale

router = APIRouter(prefix="/api/v1/recovery", tags=["recovery"])
CASES = "/api/v1/recovery/support-cases"
# The largest evidence limit the settings allow, as base64: the setting itself and the
# request size limit are the real bounds.
MAX_BASE64 = 70 * 1024 * 1024


class EvidenceIn(BaseModel):
    filename: str = Field(max_length=limits.MAX_FILENAME)
    content_type: str = Field(
        max_length=limits.MAX_CONTENT_TYPE,
        description="What the client says the file is; mamori decides from its first bytes "
        "(image/jpeg, image/png or application/pdf)",
    )
    data_base64: str = Field(min_length=limits.NOT_EMPTY, max_length=MAX_BASE64)


class SupportCaseIn(BaseModel):
    login: str = Field(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_EMAIL,
        description="Username, e-mail or phone of the account",
    )
    contact_email: str = Field(
        min_length=limits.MIN_EMAIL,
        max_length=limits.MAX_EMAIL,
        description="Where support will answer",
    )
    what_happened: str = Field(min_length=limits.NOT_EMPTY, max_length=service.MAX_DESCRIPTION)
    evidence: list[EvidenceIn] = Field(
        default_factory=list,
        max_length=limits.MAX_EVIDENCE_FILES,
        description=f"At most {service.MAX_FILES} files, together at most "
        "MAMORI_SUPPORT_EVIDENCE_MAX_BYTES (5 MiB by default)",
    )


class SupportCaseOut(BaseModel):
    reference: str = Field(description='The case\'s reference, e.g. "K7QX-2MDA-9RTE"')


@router.post(
    "/support-cases",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        413: {"description": "evidence_too_large or payload_too_large"},
        422: {
            "description": "invalid_request, invalid_login, invalid_email, invalid_description, "
            "too_many_files, evidence_type_not_allowed or invalid_evidence"
        },
        429: {"description": "too_many_attempts"},
    },
)
def open_support_case(
    body: SupportCaseIn,
    request: Request,
    ctx: Ctx,
    db: Db,
    origin: RequestOrigin,
    background: BackgroundTasks,
) -> SupportCaseOut:
    """Open a support case. The answer is the same whether or not `login` names an
    account; the contact address gets an acknowledgement with the reference."""
    uploads = [service.decode_evidence(ctx, e.filename, e.data_base64) for e in body.evidence]
    reference = service.open_support_case(
        db,
        ctx,
        origin,
        login=body.login,
        contact_email=body.contact_email,
        what_happened=body.what_happened,
        evidence=uploads,
        locale=request_locale(request),
    )
    # After the answer: only a matched account is alerted, so the time must not tell.
    background.add_task(send_notices, ctx, origin, reference)
    return SupportCaseOut(reference=reference)


def send_notices(ctx: Context, origin: Origin, reference: str) -> None:
    """Runs after the answer was sent, outside the route: its own unit of work."""
    with ctx.database.session() as db:
        service.send_case_notices(db, ctx, origin, reference)
