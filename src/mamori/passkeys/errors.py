from __future__ import annotations

from mamori.core.errors import InvalidCode, MamoriError


# Subclasses of InvalidCode: at the second step and "Confirm it's you" a refused passkey
# counts like a wrong code (two_factor/verify.py).
class PasskeyNotAccepted(InvalidCode):
    code, status, title = (
        "passkey_not_accepted",
        400,
        "That passkey wasn't accepted. Try again, or use another way.",
    )


class PasskeyRequestExpired(InvalidCode):
    code, status, title = (
        "passkey_request_expired",
        400,
        "That passkey request expired or was already used. Try again.",
    )


class TooManyPasskeys(MamoriError):
    code, status, title = (
        "too_many_passkeys",
        409,
        "You already have 10 passkeys, the most an account can have. Remove one first.",
    )


class PasskeyNotFound(MamoriError):
    code, status, title = "passkey_not_found", 404, "That passkey isn't on your account"


class InvalidPasskeyName(MamoriError):
    code, status, title = (
        "invalid_passkey_name",
        422,
        "Give the passkey a name of 1 to 64 characters",
    )
