"""Support cases: the last resort of "Can't log in?", worked by operators.

The rules:

- Anyone may open a case without logging in: the account (what they would type to log
  in), an address to answer to, what happened, and up to 3 files (JPEG, PNG or PDF, told
  apart by their first bytes, never by the type a client claims). The answer is the same
  whether or not the login names an account: the case is stored either way.
- Opening is limited per caller: per IP and per contact address (the acknowledgement
  must not become a way to mail strangers). Never per named account: anyone can type a
  username, and cases naming it must not keep its owner from opening their own. The
  account's alerts are what is limited per account (a few a day), after the answer.
- What happened, the typed login, the contact address and every file are sealed, bound to
  the case and the field (see models.py).
- Only operators (a role granted on the command line) see and decide cases; every view,
  file opened and decision is audited with the operator's user id. A decision is final.
- Approval opens a recovery already proven by support (recovery.service), which always
  waits out the holding period, and mails its link to the contact address; the account's
  registered addresses are told. No operator decides a case about their own account.
"""

from mamori.support.decisions import APPROVED_LINK, approve_case, deny_case
from mamori.support.evidence import (
    MAX_FILES,
    EvidenceInfo,
    Upload,
    body_limit,
    decode_evidence,
    open_evidence,
)
from mamori.support.opening import MAX_DESCRIPTION, open_support_case, send_case_notices
from mamori.support.operators import (
    find_operator,
    grant_operator,
    require_operator,
    revoke_operator,
)
from mamori.support.queue import CaseDetails, CaseSummary, list_cases, view_case

# Opening (opening), the files (evidence), the queue, operators and decisions live in
# modules of their own; this is what other packages use.
__all__ = [
    "APPROVED_LINK",
    "MAX_DESCRIPTION",
    "MAX_FILES",
    "CaseDetails",
    "CaseSummary",
    "EvidenceInfo",
    "Upload",
    "approve_case",
    "body_limit",
    "decode_evidence",
    "deny_case",
    "find_operator",
    "grant_operator",
    "list_cases",
    "open_evidence",
    "open_support_case",
    "require_operator",
    "revoke_operator",
    "send_case_notices",
    "view_case",
]
