"""The authorization endpoint's rules: which requests are valid, what the person must do
(log in, log in again, answer the consent page), and the code handed to the app.

The request is checked in the order RFC 6749 §4.1.2.1 gives: an unknown app or a
redirect URI it did not register is told to the person (never a redirect to an address
an attacker chose); every other fault goes back to the app's redirect URI as `error`."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import timedelta
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, record_event
from mamori.context import Context
from mamori.core.crypto import new_token, token_digest
from mamori.oidc.clients import active_client, redirect_uri_matches
from mamori.oidc.errors import AuthorizationExpired, OAuthError, UnknownApp, WrongRedirect, refused
from mamori.oidc.models import AuthorizationCode, AuthorizationRequest, OidcClient, OidcConsent
from mamori.sessions.models import LoginSession
from mamori.two_factor.service import is_two_factor_on

# What an app may ask to see. `openid` is required: mamori is an OpenID provider only.
SCOPES = ("openid", "profile", "email", "phone", "offline_access")
# acr values: a login with the password alone, and one with a second factor too.
ACR_PASSWORD = "urn:mamori:acr:password"  # noqa: S105 (a name, not a password)
ACR_TWO_FACTOR = "urn:mamori:acr:two-factor"
CODE_SECONDS = 60
REQUEST_MINUTES = 10
# RFC 7636 §4.1: the verifier's alphabet and length, so its S256 challenge is 43 chars.
CODE_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")
MAX_STATE = 1024
MAX_NONCE = 512


@dataclass(frozen=True)
class Parameters:
    """An authorization request that passed every check, as it waits for the person."""

    redirect_uri: str
    scope: str
    code_challenge: str
    state: str | None = None
    nonce: str | None = None
    prompt: list[str] = field(default_factory=list)
    max_age: int | None = None
    wants_two_factor: bool = False


@dataclass(frozen=True)
class Pending:
    """A request waiting for the person: its token (in the continue link), app and parameters."""

    token: str
    row: AuthorizationRequest
    client: OidcClient
    parameters: Parameters


def redirect_with(redirect_uri: str, values: Mapping[str, str | None]) -> str:
    """The app's redirect URI with the answer in its query (RFC 6749 §4.1.2), keeping any
    query the registered URI has."""
    query = urlencode({k: v for k, v in values.items() if v is not None})
    separator = "&" if "?" in redirect_uri else "?"
    return f"{redirect_uri}{separator}{query}"


def error_redirect(ctx: Context, redirect_uri: str, error: OAuthError, state: str | None) -> str:
    """RFC 6749 §4.1.2.1, with `iss` (RFC 9207) as on a success."""
    return redirect_with(
        redirect_uri,
        {
            "error": error.error,
            "error_description": error.description,
            "state": state,
            "iss": ctx.settings.base_url,
        },
    )


def _single(query: Mapping[str, str], name: str, limit: int = 2000) -> str | None:
    value = query.get(name)
    if value is None or value == "":
        return None
    if len(value) > limit:
        raise refused("invalid_request", f"{name} is too long")
    return value


def check_client_and_redirect(db: Session, query: Mapping[str, str]) -> tuple[OidcClient, str]:
    """The two faults a person is told about rather than the app (RFC 6749 §4.1.2.1)."""
    client = active_client(db, query.get("client_id", ""))
    if client is None:
        raise UnknownApp()
    redirect_uri = query.get("redirect_uri", "")
    if not redirect_uri or not redirect_uri_matches(client.redirect_uri_list, redirect_uri):
        raise WrongRedirect()
    return client, redirect_uri


def check_parameters(query: Mapping[str, str], redirect_uri: str) -> Parameters:
    """Everything else; a fault raises OAuthError, which goes back to the app."""
    if query.get("request") or query.get("request_uri"):
        raise refused("request_not_supported", "Request objects are not supported")
    if not query.get("response_type"):
        raise refused("invalid_request", "response_type is missing")
    if query.get("response_type") != "code":
        raise refused("unsupported_response_type", "Only response_type=code is supported")
    if query.get("response_mode") not in (None, "", "query"):
        raise refused("invalid_request", "Only response_mode=query is supported")
    scopes = (query.get("scope") or "").split()
    if "openid" not in scopes:
        raise refused("invalid_scope", "The scope must include openid")
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise refused("invalid_scope", f"Unknown scope: {unknown[0][:40]}")
    challenge = query.get("code_challenge") or ""
    method = query.get("code_challenge_method") or ""
    if not challenge:
        raise refused("invalid_request", "PKCE is required: send code_challenge (S256)")
    if method != "S256":
        raise refused("invalid_request", "code_challenge_method must be S256")
    if not CODE_CHALLENGE.fullmatch(challenge):
        raise refused("invalid_request", "code_challenge is not an S256 challenge")
    prompt = (query.get("prompt") or "").split()
    if any(p not in ("none", "login", "consent", "select_account") for p in prompt):
        raise refused("invalid_request", "Unknown prompt value")
    if "none" in prompt and len(prompt) > 1:
        raise refused("invalid_request", "prompt=none cannot be combined")
    max_age = _single(query, "max_age", 10)
    if max_age is not None and not max_age.isdigit():
        raise refused("invalid_request", "max_age must be a number of seconds")
    acr_values = (_single(query, "acr_values", 500) or "").split()
    return Parameters(
        redirect_uri=redirect_uri,
        scope=" ".join(dict.fromkeys(scopes)),
        code_challenge=challenge,
        state=_single(query, "state", MAX_STATE),
        nonce=_single(query, "nonce", MAX_NONCE),
        prompt=prompt,
        max_age=int(max_age) if max_age is not None else None,
        wants_two_factor=ACR_TWO_FACTOR in acr_values and ACR_PASSWORD not in acr_values,
    )


def save_request(
    db: Session,
    ctx: Context,
    client: OidcClient,
    parameters: Parameters,
    session: LoginSession | None,
) -> str:
    """Kept while the person logs in; the browser carries its token in the continue link."""
    token = new_token()
    now = ctx.clock.now()
    db.add(
        AuthorizationRequest(
            request_digest=token_digest(token),
            client_pk=client.id,
            parameters=json.dumps(asdict(parameters)),
            session_at_request=session.id if session else None,
            created_at=now,
            expires_at=now + timedelta(minutes=REQUEST_MINUTES),
        )
    )
    db.flush()
    return token


def open_request(db: Session, ctx: Context, token: str) -> Pending:
    row = None
    if token and len(token) <= 128:
        row = db.scalar(
            select(AuthorizationRequest).where(
                AuthorizationRequest.request_digest == token_digest(token)
            )
        )
    if row is None or row.completed_at is not None or row.expires_at <= ctx.clock.now():
        raise AuthorizationExpired()
    client = db.get(OidcClient, row.client_pk)
    if client is None or client.disabled_at is not None:
        raise UnknownApp()
    return Pending(token, row, client, Parameters(**json.loads(row.parameters)))


# What the person must do next, or the code.
LOG_IN, LOG_IN_AGAIN, CONSENT, DONE = "log_in", "log_in_again", "consent", "done"


@dataclass(frozen=True)
class Next:
    step: str
    redirect: str | None = None  # DONE, or an error answered to the app


def session_amr(session: LoginSession) -> list[str]:
    return (session.amr or "pwd").split()


def acr_of(session: LoginSession) -> str:
    return ACR_TWO_FACTOR if "mfa" in session_amr(session) else ACR_PASSWORD


def _fresh(ctx: Context, pending: Pending, session: LoginSession) -> bool:
    """Has the person proven it's them recently enough for this request?"""
    p = pending.parameters
    logged_in_since = (
        session.id != pending.row.session_at_request
        and session.created_at >= pending.row.created_at
    )
    if "login" in p.prompt and not logged_in_since:
        return False
    if p.max_age is not None and not logged_in_since:
        return ctx.clock.now() - session.created_at <= timedelta(seconds=p.max_age)
    return True


def _consented(db: Session, pending: Pending, user: User) -> bool:
    if pending.client.first_party:
        return True
    if "consent" in pending.parameters.prompt:
        return False
    consent = db.scalar(
        select(OidcConsent).where(
            OidcConsent.user_id == user.id,
            OidcConsent.client_pk == pending.client.id,
            OidcConsent.removed_at.is_(None),
        )
    )
    return consent is not None and set(pending.parameters.scope.split()) <= set(
        consent.scope.split()
    )


def decide(
    db: Session,
    ctx: Context,
    origin: Origin,
    pending: Pending,
    session: LoginSession | None,
    *,
    consent_given: bool = False,
) -> Next:
    """What happens to this request now, with `session` the browser's live mamori session."""
    p = pending.parameters
    silent = "none" in p.prompt

    def refuse(error: str, description: str) -> Next:
        _complete(db, ctx, pending)
        record_event(
            db,
            ctx.clock,
            "oidc.authorization_refused",
            origin,
            outcome="failure",
            user_id=session.user_id if session else None,
            client=pending.client.client_id,
            error=error,
        )
        answer = refused(error, description)
        return Next(DONE, error_redirect(ctx, p.redirect_uri, answer, p.state))

    if session is None:
        return refuse("login_required", "The person is not logged in") if silent else Next(LOG_IN)
    user = session.user
    if not _fresh(ctx, pending, session):
        if silent:
            return refuse("login_required", "The person must log in again")
        return Next(LOG_IN_AGAIN)
    if p.wants_two_factor and "mfa" not in session_amr(session):
        if silent or not is_two_factor_on(db, user.id):
            return refuse("unmet_authentication_requirements", "The person has no two-factor login")
        return Next(LOG_IN_AGAIN)
    if not consent_given and not _consented(db, pending, user):
        if silent:
            return refuse("consent_required", "The person has not allowed this app")
        return Next(CONSENT)
    if consent_given:
        _remember_consent(db, ctx, origin, pending, user)
    code = _issue_code(db, ctx, origin, pending, session)
    redirect = redirect_with(
        p.redirect_uri, {"code": code, "state": p.state, "iss": ctx.settings.base_url}
    )
    return Next(DONE, redirect)


def cancel(db: Session, ctx: Context, origin: Origin, pending: Pending, user: User) -> str:
    """ "Cancel" on the consent page: the app hears access_denied."""
    _complete(db, ctx, pending)
    record_event(
        db,
        ctx.clock,
        "oidc.consent_refused",
        origin,
        user_id=user.id,
        client=pending.client.client_id,
    )
    denied = refused("access_denied", "The person did not allow this app")
    return error_redirect(ctx, pending.parameters.redirect_uri, denied, pending.parameters.state)


def _complete(db: Session, ctx: Context, pending: Pending) -> None:
    """Once: of two answers sent at the same moment (a double click), one goes on."""
    done = db.execute(
        update(AuthorizationRequest)
        .where(
            AuthorizationRequest.id == pending.row.id,
            AuthorizationRequest.completed_at.is_(None),
        )
        .values(completed_at=ctx.clock.now())
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if done != 1:
        raise AuthorizationExpired()


def _remember_consent(
    db: Session, ctx: Context, origin: Origin, pending: Pending, user: User
) -> None:
    now = ctx.clock.now()
    consent = db.scalar(
        select(OidcConsent).where(
            OidcConsent.user_id == user.id, OidcConsent.client_pk == pending.client.id
        )
    )
    if consent is None:
        consent = OidcConsent(
            user_id=user.id, client_pk=pending.client.id, scope="", granted_at=now
        )
        db.add(consent)
    previous = set() if consent.removed_at else set(consent.scope.split())
    scopes = previous | set(pending.parameters.scope.split())
    consent.scope = " ".join(s for s in SCOPES if s in scopes)
    consent.granted_at, consent.removed_at = now, None
    db.flush()
    record_event(
        db,
        ctx.clock,
        "oidc.consent_given",
        origin,
        user_id=user.id,
        client=pending.client.client_id,
        scope=consent.scope,
    )


def _issue_code(
    db: Session, ctx: Context, origin: Origin, pending: Pending, session: LoginSession
) -> str:
    _complete(db, ctx, pending)
    code = new_token()
    now = ctx.clock.now()
    p = pending.parameters
    db.add(
        AuthorizationCode(
            code_digest=token_digest(code),
            client_pk=pending.client.id,
            user_id=session.user_id,
            session_id=session.id,
            redirect_uri=p.redirect_uri,
            scope=p.scope,
            nonce=p.nonce,
            code_challenge=p.code_challenge,
            credential_generation=session.user.credential_generation,
            created_at=now,
            expires_at=now + timedelta(seconds=CODE_SECONDS),
        )
    )
    db.flush()
    record_event(
        db,
        ctx.clock,
        "oidc.authorized",
        origin,
        user_id=session.user_id,
        client=pending.client.client_id,
        scope=p.scope,
    )
    return code
