from __future__ import annotations

from typing import Any

from mamori.core.errors import MamoriError


class PasswordChangeRequired(MamoriError):
    """After "This wasn't me": the login worked, but only setting a new password is open.

    Over the API it carries a `token` that works for POST /api/v1/me/password/new only.
    """

    code, status, title = "password_change_required", 403, "Set a new password first"

    def __init__(self, **extra: Any) -> None:
        super().__init__(
            "This account was secured after \u201cThis wasn't me\u201d. "
            "Set a new password to continue.",
            **extra,
        )


class PasswordChangeNotRequired(MamoriError):
    code, status, title = "password_change_not_required", 409, "No new password is required"


class SamePassword(MamoriError):
    code, status, title = "password_reused", 422, "Choose a password you haven't used here"


class LinkNotValid(MamoriError):
    # One answer for a forged, expired or already used link: none of them can be acted on.
    code, status, title = "link_not_valid", 410, "This link is not valid any more"


class LinkAlreadyUsed(MamoriError):
    # Only said once the link is proven genuine, so it tells a forger nothing.
    code, status, title = "link_already_used", 409, "This link was already used"
