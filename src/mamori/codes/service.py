"""Six-digit security codes sent by SMS or e-mail: login challenges, SMS enrollment, recovery.

The rules (DESIGN.md, ASVS 6.5 / 6.6, NIST SP 800-63B-4):

- A code belongs to one `binding` (the login challenge, enrollment or recovery that asked
  for it) and one `purpose`; it is generated with `secrets`, lives 10 minutes (recovery by
  e-mail: 30) and is stored only as a keyed digest.
- A new send for the same binding replaces the code: the old one is dead at once. The
  failure count is kept: resends never buy more guesses.
- Five wrong codes kill the code. The fifth wrong answer is `invalid_code` with
  `attempts_left: 0`; every try after it is `challenge_expired`, and a resend for that
  binding is `too_many_attempts` (429, Retry-After) until an hour after its last send,
  when it starts afresh. A login challenge is shorter-lived than that, so there the
  person starts the login again. After a code is used, the next send starts afresh.
- A right code works once: one conditional UPDATE, counted only when one row changed.
  Typing it again answers `code_already_used`.
- Sends are throttled per binding (a short wait between resends, a few per hour), per
  destination and per IP, and all SMS together have an hourly cap (SMS pumping). Each
  quota's slot is reserved atomically before the code is made: twenty sends at once
  text one code.
"""

from mamori.codes.checking import verify_security_code
from mamori.codes.sending import CodeRequest, SentCode, send_security_code
from mamori.codes.stored import MASK, Channel, mask_destination

# Sending and checking live in modules of their own (with what they share in stored.py);
# this is what other packages use.
__all__ = [
    "MASK",
    "Channel",
    "CodeRequest",
    "SentCode",
    "mask_destination",
    "send_security_code",
    "verify_security_code",
]
