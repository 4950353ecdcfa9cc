"""Backup codes as a second factor: offered while any remain."""

from __future__ import annotations

from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.backup_codes.service import remaining_codes, use_backup_code
from mamori.context import Context
from mamori.second_factors.methods import Attempt, Method, Proven


class BackupCodes:
    method = Method.BACKUP_CODE

    def available(self, db: Session, ctx: Context, user: User) -> bool:
        return bool(remaining_codes(db, user.id))

    def verify(self, db: Session, ctx: Context, attempt: Attempt, typed: str) -> Proven:
        left = use_backup_code(db, ctx, attempt.origin, attempt.user, typed)
        return Proven(self.method, backup_codes_left=left)
