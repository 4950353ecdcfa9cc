"""How much a person may type into each field: one number per kind of input.

Forms use the constants (`Form(max_length=limits.MAX_PASSWORD)`), JSON bodies and paths
use them inside their `Field(...)`/`Path(...)`, so a form and a JSON body for the same thing
always accept the same length. These are bounds on input size only; the rules (a password's
shortest length, e-mail syntax) live in the services. Limits that belong to one feature's
rules stay in that feature's service (for example `support.service.MAX_DESCRIPTION`,
`trusted_contacts.service.MAX_NAMES`).
"""

from __future__ import annotations

# Something must be typed: the shortest non-empty answer.
NOT_EMPTY = 1

# A password, current or new: long passphrases fit, a megabyte of junk does not.
MAX_PASSWORD = 4096
# A code typed from an e-mail, a text message, an app or a backup-code list.
MAX_CODE = 64
# A new username chosen at sign-up.
MAX_USERNAME = 30
# Someone else's username typed in (a trusted contact, a session's id, a case reference).
MAX_NAME_OR_ID = 64
# What you log in with: a username, an e-mail address or a phone number.
MAX_LOGIN = 254
# An e-mail address (RFC 5321's longest path).
MAX_EMAIL = 254
# The shortest e-mail address worth answering (a@b).
MIN_EMAIL = 3
# A phone number, in any common notation.
MAX_PHONE = 32
# A request's id as the list shows it (a recovery request).
MAX_REQUEST_ID = 32
# Which second factor: "totp", "sms", "email", "backup"…
MAX_METHOD = 16
# A short choice: a confirm word, a recovery option, a language tag.
MAX_CHOICE = 8
# A token from a link, a cookie or an earlier answer (CSRF, challenge, recovery, cancel).
MAX_TOKEN = 128
# Where to go afterwards (a local path).
MAX_NEXT = 512
# A free-text note or reason written by an operator.
MAX_FREE_TEXT = 5000
# An uploaded file's name and its claimed content type.
MAX_FILENAME = 255
MAX_CONTENT_TYPE = 100
# How many evidence files one support case may carry.
MAX_EVIDENCE_FILES = 10
# How many usernames one trusted-contacts list may name.
MAX_CONTACT_NAMES = 20
# An IANA time zone name ("America/Argentina/ComodRivadavia" is the longest, 32).
MAX_TIME_ZONE = 64
# A WebAuthn credential as the browser's JSON (a passkey's attestation or assertion).
MAX_CREDENTIAL = 16 * 1024
