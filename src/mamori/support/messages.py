"""What support tells an account's owner and the person who opened a case (catalog: support.po)."""

from __future__ import annotations

from mamori.notifications.messages import Alert

# To the account's owner, on every registered address
CASE_OPENED = Alert(
    "A support case was opened for your account",
    "Someone asked mamori support to help them back into your account "
    "%(username)s (case %(reference)s) and gave %(contact)s as the address to "
    "answer to. If it was you, watch that inbox. If it wasn't, your account stays "
    "as it is: support checks every case, and you'll be told before anything "
    "changes.",
)
RECOVERY_APPROVED = Alert(
    "Support approved a recovery of your account",
    "mamori support approved a recovery of your account %(username)s (case "
    "%(reference)s) and sent a link to set a new password to %(contact)s. A new "
    "password set with it takes effect only after a waiting period, and you'll be "
    "told before. If this wasn't you, log in and cancel the recovery under Password "
    "and security.",
)

# To the case's contact address: not proven to be the owner's, so it never learns more
# than the case's own reference (and, when approved, the link)
CASE_RECEIVED = Alert(
    "We received your support case %(reference)s",
    "We received your support case %(reference)s about getting back into a "
    "mamori account. We will write to this address once it has been reviewed. "
    "If you didn't ask for this, you can ignore this e-mail.",
)
CASE_DENIED = Alert(
    "Your support case %(reference)s",
    "We reviewed your support case %(reference)s and could not confirm that "
    "you can be given access to the account, so the case is closed. If you "
    "still can't log in, you can open a new case with more details.",
)
CASE_APPROVED = Alert(
    "Your support case %(reference)s was approved",
    "Support approved your case %(reference)s. Set a new password for the account "
    "%(username)s with this link within %(hours)s hours:\n\n%(link)s\n\nFor the "
    "account's safety the new password takes effect %(holding)s hours after you set "
    "it, and the account's owner is told. Don't share this link.",
)
