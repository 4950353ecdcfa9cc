"""Every feature's tables, imported so Base.metadata is complete (Alembic, tests)."""

from mamori.accounts.models import User
from mamori.audit.models import AuditEvent
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.codes.models import SecurityCode
from mamori.contact_details.models import PendingContactChange
from mamori.core.db import Base
from mamori.core.deployment import DeploymentFact
from mamori.core.throttle import ThrottleCounter
from mamori.login.models import LoginChallenge
from mamori.notifications.models import OutboxMessage
from mamori.notifications.quotas import SendQuotaRow
from mamori.oidc.models import (
    AuthorizationCode,
    AuthorizationRequest,
    BackchannelLogout,
    OidcClient,
    OidcConsent,
    OidcSubject,
    OidcToken,
    SigningKey,
)
from mamori.passkeys.models import Passkey, PasskeyChallenge, PasskeyUserHandle
from mamori.recovery.models import RecoveryAttempt, RecoveryProof
from mamori.security.models import DisownedEvent, SecurityState
from mamori.sessions.models import LoginSession
from mamori.support.models import Operator, SupportCase, SupportEvidence
from mamori.totp.models import Authenticator
from mamori.trusted_contacts.models import TrustedContact, TrustedContactRequest
from mamori.two_factor.models import PhoneMethod, TwoFactorSettings

__all__ = [
    "AuditEvent",
    "Authenticator",
    "AuthorizationCode",
    "AuthorizationRequest",
    "BackchannelLogout",
    "BackupCode",
    "BackupCodeSet",
    "Base",
    "DeploymentFact",
    "DisownedEvent",
    "LoginChallenge",
    "LoginSession",
    "OidcClient",
    "OidcConsent",
    "OidcSubject",
    "OidcToken",
    "Operator",
    "OutboxMessage",
    "Passkey",
    "PasskeyChallenge",
    "PasskeyUserHandle",
    "PendingContactChange",
    "PhoneMethod",
    "RecoveryAttempt",
    "RecoveryProof",
    "SecurityCode",
    "SecurityState",
    "SendQuotaRow",
    "SigningKey",
    "SupportCase",
    "SupportEvidence",
    "ThrottleCounter",
    "TrustedContact",
    "TrustedContactRequest",
    "TwoFactorSettings",
    "User",
]
