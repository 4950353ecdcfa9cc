from __future__ import annotations

from mamori.core.errors import MamoriError


class InvalidCredentials(MamoriError):
    # One answer for an unknown account, a wrong password and a disabled account.
    code, status, title = "invalid_credentials", 401, "The login or password isn't right"
