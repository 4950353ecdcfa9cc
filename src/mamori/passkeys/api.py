"""JSON routes: the person's passkeys. Logging in with one is the login feature's
(`POST /api/v1/login/passkey/options`, `POST /api/v1/login/passkey`)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mamori.passkeys import service
from mamori.passkeys.models import Passkey
from mamori.sessions.signed_in import ApiAccount, RecentlyConfirmedApiAccount
from mamori.web import limits

router = APIRouter(prefix="/api/v1/me", tags=["passkeys"])
PasskeyId = Annotated[str, Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_NAME_OR_ID)]


class PasskeyOut(BaseModel):
    id: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    backed_up: bool = Field(description="Synced across the person's devices (a backed-up passkey)")


class PasskeysOut(BaseModel):
    passkeys: list[PasskeyOut]
    limit: int = Field(description="The most passkeys an account can have")


class NewPasskey(BaseModel):
    credential: dict[str, Any] = Field(
        description="What navigator.credentials.create() gave, as JSON (its toJSON())"
    )


class PasskeyName(BaseModel):
    name: str = Field(min_length=limits.NOT_EMPTY, max_length=service.NAME_LENGTH)


def passkey_out(passkey: Passkey) -> PasskeyOut:
    return PasskeyOut(
        id=passkey.public_id,
        name=passkey.name,
        created_at=passkey.created_at,
        last_used_at=passkey.last_used_at,
        backed_up=passkey.backed_up,
    )


def credential_text(credential: dict[str, Any]) -> str:
    return json.dumps(credential)


OPTIONS: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "PublicKeyCredentialCreationOptionsJSON: give it to "
        "PublicKeyCredential.parseCreationOptionsFromJSON(), then navigator.credentials.create()",
        "content": {"application/json": {"schema": {"type": "object"}}},
    },
    403: {"description": "reauthentication_required"},
    409: {"description": "too_many_passkeys"},
}


@router.post("/passkeys/registration-options", responses=OPTIONS, response_class=JSONResponse)
def registration_options(me: RecentlyConfirmedApiAccount) -> JSONResponse:
    """Options to create a passkey, valid 5 minutes for this session, used once."""
    options = service.registration_options(me.db, me.ctx, me.user, me.session_id)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post(
    "/passkeys",
    status_code=status.HTTP_201_CREATED,
    responses={
        400: {"description": "passkey_not_accepted, passkey_request_expired"},
        403: {"description": "reauthentication_required"},
        409: {"description": "too_many_passkeys"},
    },
)
def add_passkey(body: NewPasskey, me: RecentlyConfirmedApiAccount) -> PasskeyOut:
    """The new credential, for the options this session was given. The owner is alerted."""
    passkey = service.add_passkey(
        me.db, me.ctx, me.origin, me.user, me.session_id, credential_text(body.credential)
    )
    return passkey_out(passkey)


@router.get("/passkeys")
def list_passkeys(me: ApiAccount) -> PasskeysOut:
    passkeys = service.passkeys_of(me.db, me.user_id)
    return PasskeysOut(passkeys=[passkey_out(p) for p in passkeys], limit=service.MAX_PASSKEYS)


@router.patch(
    "/passkeys/{passkey_id}",
    responses={
        404: {"description": "passkey_not_found"},
        422: {"description": "invalid_passkey_name"},
    },
)
def rename_passkey(passkey_id: PasskeyId, body: PasskeyName, me: ApiAccount) -> PasskeyOut:
    passkey = service.rename_passkey(me.db, me.ctx, me.origin, me.user, passkey_id, body.name)
    return passkey_out(passkey)


@router.delete(
    "/passkeys/{passkey_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        403: {"description": "reauthentication_required"},
        404: {"description": "passkey_not_found"},
    },
)
def remove_passkey(passkey_id: PasskeyId, me: RecentlyConfirmedApiAccount) -> Response:
    """It can no longer log in. The owner is alerted."""
    service.remove_passkey(me.db, me.ctx, me.origin, me.user, passkey_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
