"""JSON routes: log in with a password, log out."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mamori.login import passkey, service
from mamori.sessions.errors import PasswordChangeRequired
from mamori.sessions.http import NEW_PASSWORD_API
from mamori.sessions.service import NewSession, end_session
from mamori.sessions.signed_in import ApiAccountSettingPassword, Db
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin

router = APIRouter(prefix="/api/v1", tags=["login"])


class LoginRequest(BaseModel):
    login: str = Field(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_LOGIN,
        description="Username, e-mail or phone",
    )
    password: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD)


class Authenticated(BaseModel):
    status: Literal["authenticated"] = "authenticated"
    token: str


class TwoFactorRequired(BaseModel):
    status: Literal["two_factor_required"] = "two_factor_required"
    challenge: str = Field(description="Send it back to /login/{challenge}/send and /verify")
    methods: list[Literal["passkey", "totp", "sms", "email", "backup_code"]]


class SendRequest(BaseModel):
    method: Literal["sms", "email"]


class CodeSent(BaseModel):
    sent_to: str = Field(description="The masked destination, e.g. +81 •• •••• ••78")


class VerifyRequest(BaseModel):
    """`code` for every method but a passkey, which sends `credential` instead."""

    # The either/or in the schema too, so clients and the schema fuzzer know it.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "title": "With a code",
                    "required": ["method", "code"],
                    "properties": {
                        "method": {"enum": ["totp", "sms", "email", "backup_code"]},
                        "code": {"type": "string"},
                        "credential": {"type": "null"},
                    },
                },
                {
                    "title": "With a passkey",
                    "required": ["method", "credential"],
                    "properties": {
                        "method": {"const": "passkey"},
                        "code": {"type": "null"},
                        "credential": {"type": "object"},
                    },
                },
            ]
        }
    )

    method: Literal["totp", "sms", "email", "backup_code", "passkey"]
    code: str | None = Field(default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)
    credential: dict[str, Any] | None = Field(
        default=None,
        description="passkey: what navigator.credentials.get() gave, as JSON, for the "
        "options of POST /api/v1/login/{challenge}/passkey-options",
    )

    @model_validator(mode="after")
    def _code_or_credential(self) -> VerifyRequest:
        if (self.method == "passkey") != (self.credential is not None) or (
            self.method != "passkey"
        ) != (self.code is not None):
            raise ValueError("send a code, or for method passkey a credential")
        return self

    @property
    def answer(self) -> str:
        return json.dumps(self.credential) if self.credential is not None else self.code or ""


class PasskeyLogin(BaseModel):
    credential: dict[str, Any] = Field(
        description="What navigator.credentials.get() gave, as JSON (its toJSON())"
    )


REQUEST_OPTIONS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "PublicKeyCredentialRequestOptionsJSON: give it to "
        "PublicKeyCredential.parseRequestOptionsFromJSON(), then navigator.credentials.get()",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
}


ChallengeId = Annotated[str, Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_TOKEN)]


@router.post(
    "/login",
    responses={
        401: {"description": "invalid_credentials"},
        403: {
            "description": "password_change_required: after \u201cThis wasn't me\u201d; "
            "`token` works only for POST `set_password` (/api/v1/me/password/new)"
        },
        429: {"description": "too_many_attempts (with Retry-After)"},
    },
)
def log_in(
    body: LoginRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> Authenticated | TwoFactorRequired:
    result = service.log_in(db, ctx, origin, login=body.login, password=body.password, kind="api")
    if result.challenge is not None:
        return TwoFactorRequired(challenge=result.challenge, methods=result.methods)
    assert result.session is not None
    return _authenticated(result.session)


def _authenticated(new: NewSession) -> Authenticated:
    """The token, unless "This wasn't me" holds the account: then the token in the
    password_change_required problem works only to set a new password."""
    if new.session.must_change_password:
        raise PasswordChangeRequired(token=new.token, set_password=NEW_PASSWORD_API)
    return Authenticated(token=new.token)


@router.post(
    "/login/{challenge}/send",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        410: {"description": "challenge_expired"},
        429: {"description": "too_many_attempts"},
    },
)
def send_login_code(
    challenge: ChallengeId, body: SendRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> CodeSent:
    masked = service.send_login_code(db, ctx, origin, challenge, body.method)
    return CodeSent(sent_to=masked)


@router.post(
    "/login/{challenge}/verify",
    responses={
        400: {"description": "invalid_code; passkey_not_accepted, passkey_request_expired"},
        403: {"description": "password_change_required: as for POST /api/v1/login"},
        409: {"description": "code_already_used"},
        410: {"description": "challenge_expired"},
        429: {"description": "too_many_attempts"},
    },
)
def verify_login_code(
    challenge: ChallengeId, body: VerifyRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> Authenticated:
    result = service.verify_second_factor(db, ctx, origin, challenge, body.method, body.answer)
    return _authenticated(result.session)


@router.post(
    "/login/{challenge}/passkey-options",
    responses={
        **REQUEST_OPTIONS,
        400: {"description": "method_not_available"},
        410: {"description": "challenge_expired"},
    },
    response_class=JSONResponse,
)
def second_step_passkey_options(challenge: ChallengeId, db: Db, ctx: Ctx) -> JSONResponse:
    """Options for a passkey as this login's second step (5 minutes, once)."""
    options = service.second_step_passkey_options(db, ctx, challenge)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post(
    "/login/passkey/options",
    responses={**REQUEST_OPTIONS, 429: {"description": "too_many_attempts (with Retry-After)"}},
    response_class=JSONResponse,
)
def passkey_login_options(db: Db, ctx: Ctx, origin: RequestOrigin) -> JSONResponse:
    """Options to log in with a passkey alone: the same for everyone (no account is named;
    the browser offers the passkeys it holds). 5 minutes, used once."""
    options = passkey.passkey_login_options(db, ctx, origin, passkey.API_BINDING)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post(
    "/login/passkey",
    responses={
        400: {"description": "passkey_not_accepted, passkey_request_expired"},
        403: {"description": "password_change_required: as for POST /api/v1/login"},
        429: {"description": "too_many_attempts (with Retry-After)"},
    },
)
def log_in_with_passkey(
    body: PasskeyLogin, db: Db, ctx: Ctx, origin: RequestOrigin
) -> Authenticated:
    """A passkey with user verification is two factors in one: a session at once, with
    two-factor on too. An unknown passkey is answered as a wrong one."""
    result = passkey.log_in_with_passkey(
        db,
        ctx,
        origin,
        credential_json=json.dumps(body.credential),
        binding=passkey.API_BINDING,
        kind="api",
    )
    return _authenticated(result.session)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(me: ApiAccountSettingPassword) -> Response:
    # A session held by "This wasn't me" can log out too.
    end_session(me.db, me.ctx.clock, me.origin, me.session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
