from __future__ import annotations

from mamori.core.errors import MamoriError


class AddressInUse(MamoriError):
    # Only said once the code proved the caller controls the address: nothing leaks.
    code, status, title = (
        "address_in_use",
        409,
        "Another account uses this address. Remove it from that account first.",
    )


class NoPendingChange(MamoriError):
    code, status, title = "no_pending_change", 409, "Enter the address first; we'll send a code"


class AlreadyConfirmed(MamoriError):
    code, status, title = "already_confirmed", 409, "That address is already confirmed"
