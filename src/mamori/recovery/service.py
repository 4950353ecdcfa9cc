""" "Can't log in?": getting back into an account without ever bypassing two-factor.

The rules (NIST SP 800-63B-4 §4.2, OWASP ASVS 6.4, DESIGN.md):

- A recovery starts from a username, e-mail or phone. The answer looks the same whether
  or not an account matches: an attempt is stored either way, and codes "sent" for an
  unknown account or an unconfirmed address are counted and stored but never delivered.
- Each proof is recorded once: a security code by e-mail (`email_code`) or text
  (`sms_code`), the password, the authenticator app (`totp`), a backup code, trusted
  contacts' codes (`trusted_contacts`) or an operator's approval (`support`).
- Without two-factor, one code (or the contacts) is enough to set a new password, at once.
- With two-factor, two independent proofs are needed, the first always something sent to
  the person (a code, or the contacts). When a second factor is among them (app, backup
  code, or a text to the two-factor phone) the new password applies at once and
  two-factor stays. Otherwise the recovery removes two-factor, and so does not take effect
  before a holding period (72 h) during which every address is told, with a cancel link,
  and every session of the owner can cancel it. An operator-approved recovery always waits.
- Every recovery is bound to the password it started under: any password change kills
  it and every code or link that belongs to it. Completing is one conditional UPDATE of
  the password, so two recoveries can never both complete.
- A recovery never logs anyone in; it ends every session of the account.
"""

from mamori.recovery.alerts import alert_everywhere
from mamori.recovery.attempts import attempt_user, open_attempt, password_stamp, proofs_of
from mamori.recovery.cancel import cancel_by_link, cancel_by_owner
from mamori.recovery.completion import (
    CompletedRecovery,
    apply_due_recoveries,
    complete_recovery,
    has_due_recovery,
)
from mamori.recovery.progress import RecoveryStatus
from mamori.recovery.proofs import (
    add_proof,
    prove_with_code,
    prove_with_password,
    prove_with_second_factor,
    recovery_passkey_options,
    send_recovery_code,
    wrong_code_policy,
)
from mamori.recovery.start import StartedRecovery, start_approved_recovery, start_recovery
from mamori.recovery.status import pending_recoveries, recovery_status

# The steps live in modules of their own (start, proofs, completion, cancel, status); this
# is what other packages use.
__all__ = [
    "CompletedRecovery",
    "RecoveryStatus",
    "StartedRecovery",
    "add_proof",
    "alert_everywhere",
    "apply_due_recoveries",
    "attempt_user",
    "cancel_by_link",
    "cancel_by_owner",
    "complete_recovery",
    "has_due_recovery",
    "open_attempt",
    "password_stamp",
    "pending_recoveries",
    "proofs_of",
    "prove_with_code",
    "prove_with_password",
    "prove_with_second_factor",
    "recovery_passkey_options",
    "recovery_status",
    "send_recovery_code",
    "start_approved_recovery",
    "start_recovery",
    "wrong_code_policy",
]
