"""What the owner is told about a recovery of their account (catalog: recovery.po)."""

from __future__ import annotations

from mamori.notifications.messages import Alert

STARTED = Alert(
    "Someone is recovering your account",
    "Someone passed the first step of recovering your account %(username)s "
    "(Can't log in?). If it was you, carry on. If it wasn't, change your password "
    "now: your account stays as it is unless the recovery is completed.",
)
HOLDING_REMOVES_TWO_FACTOR = Alert(
    "Your account is being recovered",
    "Someone finished the steps to recover your account %(username)s. On %(when)s "
    "it will set a new password, turn off two-factor authentication and log out "
    "every device. If this wasn't you, cancel it now: %(cancel)s — or log in and "
    "cancel it under Password and security.",
)
HOLDING = Alert(
    "Your account is being recovered",
    "Someone finished the steps to recover your account %(username)s. On %(when)s "
    "it will set a new password and log out every device. If this wasn't you, "
    "cancel it now: %(cancel)s — or log in and cancel it under Password and security.",
)
RECOVERED_TWO_FACTOR_OFF = Alert(
    "Your account was recovered",
    "Your account %(username)s was recovered: it has a new password, two-factor "
    "authentication is off and every device was logged out. Log in and review "
    "your security: %(review)s",
)
RECOVERED = Alert(
    "Your account was recovered",
    "The password of your account %(username)s was reset through account "
    "recovery and every device was logged out. Log in and review your "
    "security: %(review)s",
)
CANCELLED = Alert(
    "A recovery of your account was cancelled",
    "A recovery of your account %(username)s was cancelled. Your password and "
    "two-factor settings stay as they were. If you didn't start it, someone may "
    "know your password or read your e-mail: review your security.",
)
