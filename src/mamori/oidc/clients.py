"""Apps registered with mamori: create, list, show, rotate a secret, disable, authenticate."""

from __future__ import annotations

import ipaddress
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import new_token, same_secret, token_digest
from mamori.oidc.errors import ClientNotFound, InvalidClientSettings, refused
from mamori.oidc.models import OidcClient

MAX_NAME = 100
MAX_URI = 2000


@dataclass(frozen=True)
class NewClient:
    client: OidcClient
    # Shown once: only its digest is kept. None for a public client.
    secret: str | None


def is_loopback_ip(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_redirect_uri(uri: str, *, public: bool) -> str:
    """An absolute URI without a fragment: https; http only to this machine (RFC 8252
    §7.3); a private-use scheme such as com.example.app:/callback for a public (native)
    client (RFC 8252 §7.1)."""
    parts = urlsplit(uri)
    if len(uri) > MAX_URI or not parts.scheme or parts.fragment or any(c.isspace() for c in uri):
        raise InvalidClientSettings(f"Not a redirect URI: {uri}")
    if parts.scheme == "https" and parts.hostname:
        return uri
    if parts.scheme == "http" and (is_loopback_ip(parts.hostname) or parts.hostname == "localhost"):
        return uri
    if public and "." in parts.scheme and parts.scheme not in ("http", "https"):
        return uri
    raise InvalidClientSettings(
        f"A redirect URI must use https (http only to 127.0.0.1 or [::1], or a private-use "
        f"scheme for a public client): {uri}"
    )


def redirect_uri_matches(registered: list[str], asked: str) -> bool:
    """Exact match; for a loopback IP (a native app listening on 127.0.0.1) any port,
    as RFC 8252 §7.3 asks."""
    if asked in registered:
        return True
    parts = urlsplit(asked)
    if parts.scheme != "http" or not is_loopback_ip(parts.hostname):
        return False
    for uri in registered:
        known = urlsplit(uri)
        if (
            known.scheme == "http"
            and known.hostname == parts.hostname
            and known.path == parts.path
            and known.query == parts.query
            and not parts.fragment
        ):
            return True
    return False


def same_origin_as_registered(client: OidcClient, uri: str) -> bool:
    asked = urlsplit(uri)
    if asked.fragment or not asked.scheme:
        return False
    for registered in client.redirect_uri_list:
        known = urlsplit(registered)
        if (known.scheme, known.netloc) == (asked.scheme, asked.netloc):
            return True
    return False


def create_client(
    db: Session,
    ctx: Context,
    origin: Origin,
    *,
    name: str,
    redirect_uris: list[str],
    public: bool = False,
    first_party: bool = False,
    backchannel_logout_uri: str | None = None,
) -> NewClient:
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidClientSettings(f"An app's name has 1 to {MAX_NAME} characters")
    if not redirect_uris:
        raise InvalidClientSettings("An app needs at least one redirect URI")
    uris = [check_redirect_uri(uri, public=public) for uri in redirect_uris]
    if backchannel_logout_uri is not None:
        parts = urlsplit(backchannel_logout_uri)
        local = parts.scheme == "http" and is_loopback_ip(parts.hostname)
        if not (parts.scheme == "https" or local) or not parts.hostname or parts.fragment:
            raise InvalidClientSettings("A back-channel logout URI must be an https URL")
    secret = None if public else new_token()
    client = OidcClient(
        client_id=new_client_id(),
        name=name,
        secret_digest=None if secret is None else token_digest(secret),
        redirect_uris="\n".join(dict.fromkeys(uris)),
        first_party=first_party,
        backchannel_logout_uri=backchannel_logout_uri,
        created_at=ctx.clock.now(),
    )
    db.add(client)
    db.flush()
    record_event(
        db, ctx.clock, "oidc.client_created", origin, client=client.client_id, public=public
    )
    return NewClient(client, secret)


def new_client_id() -> str:
    # Hex, not url-safe base64: an id that begins with "-" reads as an option to the
    # operator's shell commands (`mamori clients show -v3…`), and hex survives any URL.
    return secrets.token_hex(16)


def list_clients(db: Session) -> list[OidcClient]:
    return list(db.scalars(select(OidcClient).order_by(OidcClient.id)))


def find_client(db: Session, client_id: str) -> OidcClient:
    """The app with this client_id (disabled or not), or ClientNotFound."""
    client = None
    if client_id and len(client_id) <= 64:
        client = db.scalar(select(OidcClient).where(OidcClient.client_id == client_id))
    if client is None:
        raise ClientNotFound()
    return client


def rotate_secret(db: Session, ctx: Context, origin: Origin, client_id: str) -> str:
    """A new secret for a confidential app; the old one stops working at once."""
    client = find_client(db, client_id)
    if client.public:
        raise InvalidClientSettings("A public app has no secret")
    secret = new_token()
    client.secret_digest = token_digest(secret)
    client.secret_rotated_at = ctx.clock.now()
    record_event(db, ctx.clock, "oidc.client_secret_rotated", origin, client=client.client_id)
    return secret


def disable_client(db: Session, ctx: Context, origin: Origin, client_id: str) -> OidcClient:
    """The app can no longer sign anyone in, and every token it holds stops working."""
    client = find_client(db, client_id)
    if client.disabled_at is None:
        client.disabled_at = ctx.clock.now()
        record_event(db, ctx.clock, "oidc.client_disabled", origin, client=client.client_id)
    return client


def active_client(db: Session, client_id: str) -> OidcClient | None:
    try:
        client = find_client(db, client_id)
    except ClientNotFound:
        return None
    return None if client.disabled_at is not None else client


def authenticate_client(
    db: Session, client_id: str | None, client_secret: str | None
) -> OidcClient:
    """The app making a token, revocation or introspection request (RFC 6749 §2.3):
    a confidential one by its secret (compared in constant time, as digests), a public
    one by its client_id alone."""
    client = active_client(db, client_id or "")
    if client is None:
        raise refused("invalid_client", "Unknown or disabled client", 401)
    if client.secret_digest is None:
        if client_secret:
            raise refused("invalid_client", "A public client has no secret", 401)
        return client
    if not client_secret or not same_secret(token_digest(client_secret), client.secret_digest):
        raise refused("invalid_client", "Client authentication failed", 401)
    return client
