"""The endpoints apps call: discovery, JWKS, token, userinfo, revocation, introspection.

They answer in OAuth's own shapes (RFC 6749 §5, RFC 6750 §3, RFC 7009, RFC 7662), not
problem+json: every OIDC library reads `error` and `error_description`."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, Response

from mamori.oidc import service
from mamori.oidc.errors import OAuthError, refused
from mamori.sessions.signed_in import Db
from mamori.web.deps import Ctx, RequestOrigin

router = APIRouter(include_in_schema=False)
MAX_FIELD = 4096
# A single-page app (a public client) calls these from the browser, from its own origin.
# No cookie is read or set here (the app proves itself by its code, verifier or token),
# so any origin may read the answers.
CROSS_ORIGIN = {"access-control-allow-origin": "*"}
NO_STORE = {"cache-control": "no-store", "pragma": "no-cache", **CROSS_ORIGIN}
APP_PATHS = (
    "/.well-known/openid-configuration",
    "/oauth/jwks",
    "/oauth/token",
    "/oauth/userinfo",
    "/oauth/revoke",
)


def _json(body: dict[str, Any], status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers={**NO_STORE, **headers})


def _preflight() -> Response:
    """CORS preflight (a browser asks before sending `Authorization` cross-origin)."""
    return Response(
        status_code=204,
        headers={
            **CROSS_ORIGIN,
            "access-control-allow-methods": "GET, POST",
            "access-control-allow-headers": "Authorization, Content-Type",
            "access-control-max-age": "600",
        },
    )


for _app_path in APP_PATHS:
    router.add_api_route(
        _app_path,
        _preflight,
        methods=["OPTIONS"],
        include_in_schema=False,
        name=f"preflight{_app_path}",
    )


def _oauth_error(error: OAuthError, *, basic: bool = False) -> JSONResponse:
    headers = {}
    if error.status == 401:
        headers["www-authenticate"] = "Basic" if basic else 'Bearer error="invalid_token"'
    body = {"error": error.error, "error_description": error.description}
    return _json(body, error.status, **headers)


def _client_credentials(
    request: Request, client_id: str | None, client_secret: str | None
) -> tuple[str | None, str | None, bool]:
    """client_secret_basic or client_secret_post (RFC 6749 §2.3.1), never both; a public
    client sends only its client_id. Returns the id, the secret and whether Basic was used."""
    scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return client_id, client_secret, False
    if client_secret:
        raise refused("invalid_request", "Use one client authentication method")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as error:
        raise refused("invalid_client", "Malformed Basic credentials", 401) from error
    name, colon, secret = decoded.partition(":")
    if not colon:
        raise refused("invalid_client", "Malformed Basic credentials", 401)
    basic_id = unquote_plus(name)
    if client_id and client_id != basic_id:
        raise refused("invalid_request", "Two different client_ids")
    return basic_id, unquote_plus(secret), True


def _path(request: Request, name: str) -> str:
    return str(request.app.url_path_for(name))


@router.get("/.well-known/openid-configuration")
def openid_configuration(request: Request, db: Db, ctx: Ctx) -> Response:
    endpoints = {
        "authorization_endpoint": "authorize",
        "token_endpoint": "token",
        "userinfo_endpoint": "userinfo",
        "jwks_uri": "jwks",
        "revocation_endpoint": "revoke_token",
        "introspection_endpoint": "introspect_token",
        "end_session_endpoint": "end_session",
    }
    paths = {key: _path(request, name) for key, name in endpoints.items()}
    return JSONResponse(service.discovery(db, ctx, paths), headers=CROSS_ORIGIN)


@router.get("/oauth/jwks")
def jwks(db: Db, ctx: Ctx) -> Response:
    """The public keys: apps fetch them to check ID and access tokens on their own."""
    return JSONResponse(dict(service.published_key_set(db, ctx)), headers=CROSS_ORIGIN)


@router.post("/oauth/token")
def token(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    grant_type: str = Form("", max_length=64),
    code: str = Form("", max_length=MAX_FIELD),
    redirect_uri: str = Form("", max_length=MAX_FIELD),
    code_verifier: str = Form("", max_length=MAX_FIELD),
    refresh_token: str = Form("", max_length=MAX_FIELD),
    scope: str | None = Form(None, max_length=MAX_FIELD),
    client_id: str | None = Form(None, max_length=MAX_FIELD),
    client_secret: str | None = Form(None, max_length=MAX_FIELD),
) -> Response:
    """The token endpoint (RFC 6749 §3.2): a code or a refresh token for tokens."""
    basic = False
    try:
        client_id, client_secret, basic = _client_credentials(request, client_id, client_secret)
        service.throttle_token_requests(db, ctx, client_id or "")
        client = service.authenticate_client(db, client_id, client_secret)
        if grant_type == "authorization_code":
            issued = service.exchange_code(
                db,
                ctx,
                origin,
                client,
                code=code,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
            )
        elif grant_type == "refresh_token":
            issued = service.refresh(
                db, ctx, origin, client, refresh_token=refresh_token, scope=scope
            )
        else:
            raise refused("unsupported_grant_type", "Only authorization_code and refresh_token")
    except OAuthError as error:
        return _oauth_error(error, basic=basic)
    return _json(issued.as_response())


def _bearer(request: Request) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" else ""


@router.get("/oauth/userinfo")
def userinfo(request: Request, db: Db, ctx: Ctx) -> Response:
    """Claims about the person, by the access token's scope (OpenID Connect Core §5.3)."""
    try:
        return _json(service.userinfo(db, ctx, _bearer(request)))
    except OAuthError as error:
        return _oauth_error(error)


@router.post("/oauth/userinfo")
def userinfo_by_post(request: Request, db: Db, ctx: Ctx) -> Response:
    return userinfo(request, db, ctx)


@router.post("/oauth/revoke")
def revoke_token(
    request: Request,
    db: Db,
    ctx: Ctx,
    origin: RequestOrigin,
    token: str = Form("", max_length=MAX_FIELD),
    token_type_hint: str = Form("", max_length=64),
    client_id: str | None = Form(None, max_length=MAX_FIELD),
    client_secret: str | None = Form(None, max_length=MAX_FIELD),
) -> Response:
    """RFC 7009: 200 whether or not the token was known (the hint is not needed)."""
    basic = False
    try:
        client_id, client_secret, basic = _client_credentials(request, client_id, client_secret)
        client = service.authenticate_client(db, client_id, client_secret)
        service.revoke(db, ctx, origin, client, token)
    except OAuthError as error:
        return _oauth_error(error, basic=basic)
    return Response(status_code=200, headers=NO_STORE)


@router.post("/oauth/introspect")
def introspect_token(
    request: Request,
    db: Db,
    ctx: Ctx,
    token: str = Form("", max_length=MAX_FIELD),
    token_type_hint: str = Form("", max_length=64),
    client_id: str | None = Form(None, max_length=MAX_FIELD),
    client_secret: str | None = Form(None, max_length=MAX_FIELD),
) -> Response:
    """RFC 7662, for an app's backend: a confidential app learns about its own tokens."""
    basic = False
    try:
        client_id, client_secret, basic = _client_credentials(request, client_id, client_secret)
        client = service.authenticate_client(db, client_id, client_secret)
        if client.public:
            raise refused("invalid_client", "Introspection needs a confidential client", 401)
        return _json(service.introspect(db, ctx, client, token))
    except OAuthError as error:
        return _oauth_error(error, basic=basic)
