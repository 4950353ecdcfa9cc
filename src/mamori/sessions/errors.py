from __future__ import annotations

from typing import Any

from mamori.core.errors import MamoriError


class SessionNotFound(MamoriError):
    code, status, title = "session_not_found", 404, "No such session"


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
