"""Every feature's tables, imported so Base.metadata is complete (Alembic, tests)."""

from mamori.accounts.models import User
from mamori.audit.models import AuditEvent
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.codes.models import SecurityCode
from mamori.core.db import Base
from mamori.core.throttle import ThrottleCounter
from mamori.notifications.models import OutboxMessage
from mamori.sessions.models import LoginSession

__all__ = [
    "AuditEvent",
    "BackupCode",
    "BackupCodeSet",
    "Base",
    "LoginSession",
    "OutboxMessage",
    "SecurityCode",
    "ThrottleCounter",
    "User",
]
