from __future__ import annotations

from mamori.core.errors import MamoriError


class SessionNotFound(MamoriError):
    code, status, title = "session_not_found", 404, "No such session"
