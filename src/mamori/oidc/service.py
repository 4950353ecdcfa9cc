"""Sign in with mamori: the OpenID Connect provider's rules, one import for the routes.

The sections: `clients` (apps registered by the operator), `keys` (signing keys and the
JWKS), `authorization` (the authorization request, the person's steps, the code),
`tokens` (code and refresh grants, userinfo, revocation, introspection), `apps` (what a
person has let in: "Apps and websites")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.oidc.authorization import (
    ACR_PASSWORD,
    ACR_TWO_FACTOR,
    CONSENT,
    DONE,
    LOG_IN,
    LOG_IN_AGAIN,
    SCOPES,
    Next,
    Pending,
    cancel,
    check_client_and_redirect,
    check_parameters,
    decide,
    error_redirect,
    open_request,
    redirect_with,
    save_request,
)
from mamori.oidc.clients import active_client, authenticate_client, same_origin_as_registered
from mamori.oidc.errors import refused
from mamori.oidc.keys import published_key_set
from mamori.oidc.token_use import audience_of_id_token, introspect, revoke, userinfo
from mamori.oidc.tokens import exchange_code, refresh, throttle_token_requests

__all__ = [
    "CONSENT",
    "DONE",
    "LOG_IN",
    "LOG_IN_AGAIN",
    "Next",
    "Pending",
    "app_name",
    "authenticate_client",
    "cancel",
    "check_client_and_redirect",
    "check_parameters",
    "decide",
    "discovery",
    "error_redirect",
    "exchange_code",
    "introspect",
    "logout_return",
    "open_request",
    "published_key_set",
    "refresh",
    "refused",
    "revoke",
    "save_request",
    "scopes_shown",
    "throttle_token_requests",
    "userinfo",
]

# What the consent page says each scope lets the app see (catalog messages).
SCOPE_TEXTS = {
    "openid": "That you have a mamori account, and how you logged in",
    "profile": "Your username, language and time zone",
    "email": "Your e-mail address",
    "phone": "Your phone number",
    "offline_access": "Stay signed in while you're logged in to mamori",
}


def scopes_shown(scope: str) -> list[str]:
    return [SCOPE_TEXTS[s] for s in SCOPES if s in scope.split()]


def discovery(db: Session, ctx: Context, endpoints: dict[str, str]) -> dict[str, Any]:
    """/.well-known/openid-configuration (OpenID Connect Discovery 1.0 §3)."""
    issuer = ctx.settings.base_url
    return {
        "issuer": issuer,
        **{name: issuer + path for name, path in endpoints.items()},
        "scopes_supported": list(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["ES256", "RS256"],
        "token_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "revocation_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        "introspection_endpoint_auth_methods_supported": [
            "client_secret_basic",
            "client_secret_post",
        ],
        "code_challenge_methods_supported": ["S256"],
        "claims_supported": [
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "auth_time",
            "nonce",
            "sid",
            "acr",
            "amr",
            "azp",
            "preferred_username",
            "locale",
            "zoneinfo",
            "email",
            "email_verified",
            "phone_number",
            "phone_number_verified",
        ],
        "acr_values_supported": [ACR_PASSWORD, ACR_TWO_FACTOR],
        "prompt_values_supported": ["none", "login", "consent"],
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "authorization_response_iss_parameter_supported": True,
        "backchannel_logout_supported": True,
        "backchannel_logout_session_supported": True,
        "frontchannel_logout_supported": False,
    }


@dataclass(frozen=True)
class LogoutReturn:
    app: str
    url: str


def logout_return(
    db: Session,
    ctx: Context,
    id_token_hint: str,
    client_id: str,
    post_logout_redirect_uri: str,
    state: str,
) -> LogoutReturn | None:
    """Where RP-initiated logout sends the person afterwards: only to an address on the
    same origin as one of the app's registered redirect URIs, and only when the app is
    known (by its client_id or an ID token mamori signed, expired or not)."""
    if id_token_hint:
        client_id = audience_of_id_token(db, ctx, id_token_hint) or ""
    client = active_client(db, client_id)
    if client is None or not post_logout_redirect_uri:
        return None
    if not same_origin_as_registered(client, post_logout_redirect_uri):
        return None
    query = {"state": state} if state else {}
    return LogoutReturn(client.name, redirect_with(post_logout_redirect_uri, query))


def app_name(db: Session, client_id: str) -> str | None:
    client = active_client(db, client_id)
    return client.name if client else None
