"""Evidence: the files attached to a case, known by their bytes, sealed, opened by operators."""

from __future__ import annotations

import base64
import binascii
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.settings import Settings
from mamori.support.cases import file_context, find_case, unseal_bytes, unseal_field
from mamori.support.errors import (
    EvidenceNotFound,
    EvidenceTooLarge,
    EvidenceTypeNotAllowed,
    InvalidEvidence,
    TooManyFiles,
)
from mamori.support.models import SupportCase, SupportEvidence
from mamori.support.operators import require_operator

MAX_FILES = 3
MAX_FILENAME = 100
# PDF, PNG and JPEG by their first bytes. A claimed content type is never trusted.
SIGNATURES = (
    (b"%PDF-", "application/pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
)
EXTENSIONS = {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}
SUFFIXES = {"application/pdf": (".pdf",), "image/png": (".png",), "image/jpeg": (".jpg", ".jpeg")}


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


def body_limit(settings: Settings) -> int:
    """The request size the routes that take evidence accept: the files as base64 (JSON),
    plus room for the text fields and the form's framing."""
    return -(-settings.support_evidence_max_bytes * 4 // 3) + 64 * 1024


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


def checked_files(settings: Settings, uploads: Sequence[Upload]) -> list[tuple[str, str, bytes]]:
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
    case = find_case(db, reference)
    row = db.scalar(
        select(SupportEvidence).where(
            SupportEvidence.case_id == case.id, SupportEvidence.position == position
        )
    )
    if row is None:
        raise EvidenceNotFound()
    data = unseal_bytes(ctx.keyring, row.key_id, row.sealed, file_context(case.reference, position))
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
    return evidence_info(ctx, case, row), data


def evidence_rows(db: Session, case: SupportCase) -> list[SupportEvidence]:
    return list(
        db.scalars(
            select(SupportEvidence)
            .where(SupportEvidence.case_id == case.id)
            .order_by(SupportEvidence.position)
        )
    )


def evidence_info(ctx: Context, case: SupportCase, row: SupportEvidence) -> EvidenceInfo:
    name = unseal_field(ctx, case.reference, f"filename:{row.position}", row.filename_sealed)
    return EvidenceInfo(row.position, name, row.content_type, row.size)
