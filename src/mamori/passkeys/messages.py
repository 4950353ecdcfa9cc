"""What owners are told about their passkeys (catalog: passkeys.po)."""

from __future__ import annotations

from mamori.notifications.messages import Alert

PASSKEY_ADDED = Alert(
    "A passkey was added",
    "A passkey (%(name)s) was added to your account %(username)s. It can log in to your "
    "account without a password.",
)
PASSKEY_RENAMED = Alert(
    "A passkey was renamed",
    "A passkey on your account %(username)s was renamed from %(old)s to %(name)s.",
)
PASSKEY_REMOVED = Alert(
    "A passkey was removed",
    "A passkey (%(name)s) was removed from your account %(username)s. It can no longer log in.",
)
PASSKEY_CLONED = Alert(
    "A passkey may have been copied",
    "Your passkey %(name)s was used with a signature counter lower than before, so it "
    "may have been copied to another device. It was refused. If you didn't copy it, "
    "remove it and add a new one.",
)
