"""Trusted contacts: 3 to 5 friends who help you back in when every other way is lost.

The rules (issue 5, DESIGN.md):

- The owner chooses 3 to 5 other mamori accounts by username (public handles), never
  themselves, after a reauthentication. Each contact is told and may decline; only
  contacts who have not declined count, and with fewer than 3 (or fewer than the
  threshold) the way is not available for recovery.
- Recovering, the person types the usernames they remember. We never list an account's
  contacts to anyone not logged in as its owner: every named user who is an active
  contact gets a request for help, the rest are ignored, and the answer is the same
  whether none, some or all were contacts, or whether the account exists at all.
- A contact opens the request (logged in), sees who asks, and confirms they will pass
  the code on by voice; only then is an 8-digit code made. It is shown once (a new one
  replaces it), stored as a keyed digest bound to that one recovery attempt, and lives
  as long as the request (`trusted_contact_code_hours`, 24 h from the asking).
- Each right code is one vouch, once per contact: spending it is one conditional
  UPDATE. Wrong codes are counted per attempt (at most 5 × threshold). When the vouches
  reach the threshold the attempt gets its `trusted_contacts` proof.
- Every step is audited; the owner hears of every ask, every code given, every refusal,
  and every change to the list; a contact hears when chosen or removed.
"""

from mamori.trusted_contacts.asking import (
    MAX_NAMES,
    Vouches,
    ask_trusted_contacts,
    enter_contact_code,
    vouch_status,
)
from mamori.trusted_contacts.choosing import (
    ContactList,
    choose_trusted_contacts,
    remove_trusted_contact,
    trusted_contacts,
)
from mamori.trusted_contacts.contacts import (
    MAXIMUM,
    MINIMUM,
    REQUEST_PAGE,
    SETTINGS_PAGE,
    active_contact_count,
    is_available,
)
from mamori.trusted_contacts.helping import (
    HelpRequest,
    chosen_by,
    decline,
    give_code,
    help_request,
    help_requests,
    refuse_request,
)

# The owner's side (choosing), the person recovering (asking) and the contact's side
# (helping) live in modules of their own; this is what other packages use.
__all__ = [
    "MAXIMUM",
    "MAX_NAMES",
    "MINIMUM",
    "REQUEST_PAGE",
    "SETTINGS_PAGE",
    "ContactList",
    "HelpRequest",
    "Vouches",
    "active_contact_count",
    "ask_trusted_contacts",
    "choose_trusted_contacts",
    "chosen_by",
    "decline",
    "enter_contact_code",
    "give_code",
    "help_request",
    "help_requests",
    "is_available",
    "refuse_request",
    "remove_trusted_contact",
    "trusted_contacts",
    "vouch_status",
]
