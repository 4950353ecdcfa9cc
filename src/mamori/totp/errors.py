from __future__ import annotations

from mamori.core.errors import MamoriError


class ClockOutOfSync(MamoriError):
    code, status, title = (
        "clock_out_of_sync",
        400,
        "Your phone's clock seems to be off. Set it to update automatically, then try a new code.",
    )


class NoPendingAuthenticator(MamoriError):
    code, status, title = (
        "no_pending_authenticator",
        409,
        "Start setting up the authenticator app first",
    )
