from __future__ import annotations

from mamori.core.errors import MamoriError


class MethodNotAvailable(MamoriError):
    code, status, title = "method_not_available", 400, "That method isn't set up for this account"


class NoPendingPhone(MamoriError):
    code, status, title = "no_pending_phone", 409, "Add a phone number first"


class SecondFactorLocked(MamoriError):
    code, status, title = (
        "second_factor_locked",
        423,
        "Too many wrong codes. Use “Can't log in?” to recover your account.",
    )


class OnlyTwoFactorMethod(MamoriError):
    code, status, title = (
        "only_two_factor_method",
        409,
        "This passkey is your only two-factor method. Add another method, or turn "
        "two-factor authentication off, before you remove it.",
    )
