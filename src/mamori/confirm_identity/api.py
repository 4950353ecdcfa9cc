"""JSON route: "Confirm it's you" (reauthenticate) before a sensitive change."""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mamori.login import service as login_service
from mamori.login.service import reauthenticate_with_second_factor
from mamori.sessions.reauthentication import reauthenticate_with_password
from mamori.sessions.signed_in import ApiAccount
from mamori.web import limits

router = APIRouter(prefix="/api/v1/me", tags=["sessions"])


class ReauthenticateRequest(BaseModel):
    """The password, or a second factor: `method` (totp or backup_code) with its `code`, or
    `method` passkey with the browser's `credential`."""

    # The schema states the either/or too, so a client (and a schema-driven fuzzer) knows
    # that {"password", "method"} together is refused, not just that each field may appear.
    model_config = ConfigDict(
        json_schema_extra={
            "oneOf": [
                {
                    "title": "With the password",
                    "required": ["password"],
                    "properties": {
                        "password": {"type": "string"},
                        "method": {"type": "null"},
                        "code": {"type": "null"},
                        "credential": {"type": "null"},
                    },
                },
                {
                    "title": "With a second factor",
                    "required": ["method", "code"],
                    "properties": {
                        "password": {"type": "null"},
                        "method": {"enum": ["totp", "backup_code"]},
                        "code": {"type": "string"},
                        "credential": {"type": "null"},
                    },
                },
                {
                    "title": "With a passkey",
                    "required": ["method", "credential"],
                    "properties": {
                        "password": {"type": "null"},
                        "method": {"const": "passkey"},
                        "code": {"type": "null"},
                        "credential": {"type": "object"},
                    },
                },
            ]
        }
    )

    password: str | None = Field(
        default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD
    )
    method: Literal["totp", "backup_code", "passkey"] | None = None
    code: str | None = Field(default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)
    credential: dict[str, Any] | None = Field(
        default=None,
        description="passkey: what navigator.credentials.get() gave, as JSON, for the "
        "options of POST /api/v1/me/reauthenticate/passkey-options",
    )

    @model_validator(mode="after")
    def _one_proof(self) -> ReauthenticateRequest:
        by_password = (
            self.password is not None
            and self.method is None
            and self.code is None
            and self.credential is None
        )
        by_code = (
            self.password is None
            and self.method not in (None, "passkey")
            and self.code is not None
            and self.credential is None
        )
        by_passkey = (
            self.password is None
            and self.method == "passkey"
            and self.code is None
            and self.credential is not None
        )
        if not (by_password or by_code or by_passkey):
            raise ValueError("send either password, or method and code")
        return self


@router.post(
    "/reauthenticate",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        400: {
            "description": "invalid_code, clock_out_of_sync, method_not_available; "
            "passkey_not_accepted, passkey_request_expired"
        },
        401: {"description": "not_authenticated; invalid_credentials: the password"},
        409: {"description": "code_already_used"},
        429: {"description": "too_many_attempts (Retry-After)"},
    },
)
def reauthenticate(body: ReauthenticateRequest, me: ApiAccount) -> Response:
    if body.password is not None:
        reauthenticate_with_password(me.db, me.ctx, me.origin, me.session_id, body.password)
    else:
        assert body.method is not None
        answer = json.dumps(body.credential) if body.credential is not None else body.code
        reauthenticate_with_second_factor(
            me.db, me.ctx, me.origin, me.session_id, body.method, answer or ""
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/reauthenticate/passkey-options",
    responses={
        200: {
            "description": "PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        400: {"description": "method_not_available: the account has no passkey"},
    },
    response_class=JSONResponse,
)
def reauthentication_passkey_options(me: ApiAccount) -> JSONResponse:
    """Options to confirm it's you with a passkey (this session, 5 minutes, once)."""
    options = login_service.reauthentication_passkey_options(me.db, me.ctx, me.session_id)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})
