from __future__ import annotations

from mamori.core.errors import MamoriError


class InvalidLogin(MamoriError):
    code, status, title = (
        "invalid_login",
        422,
        "Enter the username, e-mail address or phone number of your account",
    )


class InvalidDescription(MamoriError):
    code, status, title = (
        "invalid_description",
        422,
        "Tell us what happened in plain text, in at most 4000 characters",
    )


class TooManyFiles(MamoriError):
    code, status, title = "too_many_files", 422, "Attach at most 3 files"


class EvidenceTooLarge(MamoriError):
    code, status, title = (
        "evidence_too_large",
        413,
        "The files are too large together. Attach smaller files.",
    )


class EvidenceTypeNotAllowed(MamoriError):
    code, status, title = (
        "evidence_type_not_allowed",
        422,
        "Attach photos (JPEG or PNG) or PDF files only",
    )


class InvalidEvidence(MamoriError):
    code, status, title = "invalid_evidence", 422, "A file could not be read. Attach it again."


class CaseNotFound(MamoriError):
    code, status, title = "case_not_found", 404, "No support case has that reference"


class CaseClosed(MamoriError):
    # Approved or denied: a decision is final, and a denied case's reference opens nothing.
    code, status, title = "case_closed", 409, "This support case is already closed"


class CaseNamesNoAccount(MamoriError):
    code, status, title = (
        "case_names_no_account",
        409,
        "This case names no active account: it can only be denied",
    )


class OwnCase(MamoriError):
    code, status, title = (
        "own_case",
        409,
        "You can't decide a support case about your own account: ask another operator",
    )


class NotAnOperator(MamoriError):
    code, status, title = "not_an_operator", 403, "This page is for operators only"


class EvidenceNotFound(MamoriError):
    code, status, title = "evidence_not_found", 404, "This case has no such file"


class InvalidNote(MamoriError):
    code, status, title = (
        "invalid_note",
        422,
        "Write the reason in plain text, in at most 1000 characters",
    )
