"""Named errors of the OpenID Connect provider.

Two kinds: `MamoriError`s a person sees as a page (an app mamori does not know, a
redirect URI it may not send anyone to), and `OAuthError`s an app receives in the
shape RFC 6749 gives them (`{"error", "error_description"}`, or on its redirect URI)."""

from __future__ import annotations

from mamori.core.errors import MamoriError


class UnknownApp(MamoriError):
    code, status, title = (
        "unknown_app",
        400,
        "This app is not registered with mamori, or it has been turned off.",
    )


class WrongRedirect(MamoriError):
    code, status, title = (
        "wrong_redirect_uri",
        400,
        "This app asked to send you to an address it has not registered, so mamori stopped.",
    )


class AuthorizationExpired(MamoriError):
    code, status, title = (
        "authorization_expired",
        410,
        "This sign-in took too long. Go back to the app and start again.",
    )


class ClientNotFound(MamoriError):
    code, status, title = "client_not_found", 404, "No app has this client_id"


class InvalidClientSettings(MamoriError):
    code, status, title = "invalid_client_settings", 422, "These app settings are not valid"


class AppNotFound(MamoriError):
    code, status, title = "app_not_found", 404, "This app has no access to your account"


class OAuthError(MamoriError):
    """An error as RFC 6749 §5.2 / OpenID Connect name it (`error`), for an app, never a
    person; the oidc routes answer it in OAuth's own shape. A MamoriError, so what the
    service did before refusing (a reused code's tokens revoked, the audit) is kept."""

    code, status, title = "oauth_error", 400, "The app's request was refused"

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def refused(error: str, description: str, status: int = 400) -> OAuthError:
    """The refusal an app receives: `error` is RFC 6749's code, `description` for its
    developer (English, as OAuth libraries show it; a person never reads it)."""
    return OAuthError(error, description, status)
