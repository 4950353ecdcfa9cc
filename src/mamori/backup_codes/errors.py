from __future__ import annotations

from mamori.core.errors import MamoriError


class NoBackupCodes(MamoriError):
    code, status, title = (
        "no_backup_codes",
        404,
        "You have no backup codes. They come with two-factor authentication.",
    )
