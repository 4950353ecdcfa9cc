from __future__ import annotations

from mamori.core.errors import MamoriError


class RecoveryExpired(MamoriError):
    # Unknown id, past its time, cancelled, finished, or the password changed since.
    code, status, title = "recovery_expired", 410, "This recovery expired. Start again."


class OptionNotAvailable(MamoriError):
    code, status, title = (
        "option_not_available",
        400,
        "That way of getting a code isn't available for this recovery",
    )


class SecurityCodeFirst(MamoriError):
    code, status, title = (
        "security_code_first",
        409,
        "First enter a security code we sent you, or your trusted contacts' codes",
    )


class MoreProofNeeded(MamoriError):
    code, status, title = (
        "more_proof_needed",
        409,
        "We need one more proof that this is your account",
    )


class RecoveryInProgress(MamoriError):
    code, status, title = (
        "recovery_in_progress",
        409,
        "Another recovery of this account is already waiting to take effect",
    )


class CancelLinkExpired(MamoriError):
    code, status, title = (
        "cancel_link_expired",
        410,
        "This link no longer works: the recovery already ended",
    )


class RecoveryNotFound(MamoriError):
    code, status, title = "recovery_not_found", 404, "No such recovery on your account"
