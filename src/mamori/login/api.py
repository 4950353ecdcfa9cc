"""JSON routes: log in with a password, log out."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, Field

from mamori.login import service
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
    methods: list[Literal["totp", "sms", "email", "backup_code"]]


class SendRequest(BaseModel):
    method: Literal["sms", "email"]


class CodeSent(BaseModel):
    sent_to: str = Field(description="The masked destination, e.g. +81 •• •••• ••78")


class VerifyRequest(BaseModel):
    method: Literal["totp", "sms", "email", "backup_code"]
    code: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)


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
        400: {"description": "invalid_code"},
        403: {"description": "password_change_required: as for POST /api/v1/login"},
        409: {"description": "code_already_used"},
        410: {"description": "challenge_expired"},
        429: {"description": "too_many_attempts"},
    },
)
def verify_login_code(
    challenge: ChallengeId, body: VerifyRequest, db: Db, ctx: Ctx, origin: RequestOrigin
) -> Authenticated:
    result = service.verify_second_factor(db, ctx, origin, challenge, body.method, body.code)
    return _authenticated(result.session)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def log_out(me: ApiAccountSettingPassword) -> Response:
    # A session held by "This wasn't me" can log out too.
    end_session(me.db, me.ctx.clock, me.origin, me.session)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
