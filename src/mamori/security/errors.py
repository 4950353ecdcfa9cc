from __future__ import annotations

from mamori.core.errors import MamoriError


class PasswordChangeNotRequired(MamoriError):
    code, status, title = "password_change_not_required", 409, "No new password is required"


class SamePassword(MamoriError):
    code, status, title = "password_reused", 422, "Choose a password you haven't used here"


class LinkNotValid(MamoriError):
    # One answer for a forged, expired or already used link: none of them can be acted on.
    code, status, title = "link_not_valid", 410, "This link is not valid any more"


class LinkAlreadyUsed(MamoriError):
    # Only said once the link is proven genuine, so it tells a forger nothing.
    code, status, title = "link_already_used", 409, "This link was already used"
