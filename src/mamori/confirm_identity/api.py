"""JSON route: "Confirm it's you" (reauthenticate) before a sensitive change."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from mamori.login.service import reauthenticate_with_second_factor
from mamori.sessions.reauthentication import reauthenticate_with_password
from mamori.sessions.signed_in import ApiAccount
from mamori.web import limits

router = APIRouter(prefix="/api/v1/me", tags=["sessions"])


class ReauthenticateRequest(BaseModel):
    """The password, or a second factor: `method` (totp or backup_code) with its `code`."""

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
                    },
                },
                {
                    "title": "With a second factor",
                    "required": ["method", "code"],
                    "properties": {
                        "password": {"type": "null"},
                        "method": {"type": "string"},
                        "code": {"type": "string"},
                    },
                },
            ]
        }
    )

    password: str | None = Field(
        default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD
    )
    method: Literal["totp", "backup_code"] | None = None
    code: str | None = Field(default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)

    @model_validator(mode="after")
    def _one_proof(self) -> ReauthenticateRequest:
        by_password = self.password is not None and self.method is None and self.code is None
        by_code = self.password is None and self.method is not None and self.code is not None
        if not (by_password or by_code):
            raise ValueError("send either password, or method and code")
        return self


@router.post(
    "/reauthenticate",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        400: {"description": "invalid_code, clock_out_of_sync, method_not_available"},
        401: {"description": "not_authenticated; invalid_credentials: the password"},
        409: {"description": "code_already_used"},
        429: {"description": "too_many_attempts (Retry-After)"},
    },
)
def reauthenticate(body: ReauthenticateRequest, me: ApiAccount) -> Response:
    if body.password is not None:
        reauthenticate_with_password(me.db, me.ctx, me.origin, me.session_id, body.password)
    else:
        assert body.method is not None and body.code is not None
        reauthenticate_with_second_factor(
            me.db, me.ctx, me.origin, me.session_id, body.method, body.code
        )
    return Response(status_code=status.HTTP_204_NO_CONTENT)
