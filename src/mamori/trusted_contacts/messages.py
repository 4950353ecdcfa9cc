"""What owners and contacts are told about trusted contacts (catalog: trusted_contacts.po)."""

from __future__ import annotations

from mamori.notifications.messages import Alert

# To the owner
CONTACTS_CHANGED = Alert(
    "Your trusted contacts changed",
    "Your trusted contacts are now: %(contacts)s. If you can't log in, they can help you back in.",
)
CONTACT_REMOVED = Alert(
    "A trusted contact was removed",
    "%(contact)s is no longer one of your trusted contacts. Trusted contacts who can "
    "help you: %(count)s.",
)
CONTACT_DECLINED = Alert(
    "%(contact)s declined to be your trusted contact",
    "%(contact)s declined to be your trusted contact. Trusted contacts who can help "
    "you: %(count)s. At least 3 are needed; choose someone else here: %(link)s",
)
CONTACTS_ASKED = Alert(
    "Someone asked your trusted contacts for help",
    "Someone recovering your account %(username)s (Can't log in?) asked your "
    "trusted contacts %(contacts)s for codes. If it wasn't you, tell them not to "
    "give any code, and change your password.",
)
CODE_GIVEN = Alert(
    "%(contact)s gave a code to help recover your account",
    "Your trusted contact %(contact)s gave a code to someone recovering your "
    "account %(username)s. If it wasn't you, change your password now and tell "
    "%(contact)s.",
)
REQUEST_REFUSED = Alert(
    "%(contact)s doubted a recovery of your account",
    "Your trusted contact %(contact)s said that someone recovering your account "
    "%(username)s isn't you, and gave them no code. If it was you, call %(contact)s. "
    "If it wasn't, change your password now.",
)

# To a contact
YOU_WERE_CHOSEN = Alert(
    "%(owner)s chose you as a trusted contact",
    "%(owner)s chose you as a trusted contact on mamori. If they ever can't log in, "
    "they may ask you for a code: give it only to them, by voice. If you don't want "
    "this, decline here: %(link)s",
)
YOU_WERE_REMOVED = Alert(
    "You are no longer a trusted contact of %(owner)s",
    "%(owner)s removed you from their trusted contacts. You have nothing to do.",
)
HELP_NEEDED = Alert(
    "%(owner)s needs your help to log in",
    "Someone recovering the mamori account %(owner)s asked you, as a trusted "
    "contact, for a code. Before you give one, call or meet %(owner)s and make sure "
    "it is really them. Give the code only by voice, never by message: mamori will "
    "never ask you for it. Open the request: %(link)s",
)
