"""JSON routes: "Can't log in?" for apps, and the owner's view of recoveries of their account."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Response, status
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from mamori.recovery import service
from mamori.sessions.signed_in import ApiAccount, Db
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin

router = APIRouter(prefix="/api/v1", tags=["recovery"])

RecoveryId = Annotated[
    str,
    Path(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_TOKEN,
        description="The `recovery` from POST /api/v1/recovery",
    ),
]
ProofKind = Literal[
    "email_code",
    "sms_code",
    "password",
    "passkey",
    "totp",
    "backup_code",
    "trusted_contacts",
    "support",
]


class StartRequest(BaseModel):
    login: str = Field(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_LOGIN,
        description="Username, e-mail or phone",
    )


class Destination(BaseModel):
    option: Literal["email", "sms"]
    destination: str = Field(description="Masked: h•••o@e•••.com, +81 •• •••• ••78")


class RecoveryStatus(BaseModel):
    id: str = Field(description="The recovery's public id (what alerts and the owner see)")
    state: Literal["open", "holding", "completed", "cancelled"]
    expires_at: datetime
    options: list[Destination] = Field(description="Where a security code can be sent")
    proofs: list[ProofKind]
    two_factor: bool | None = Field(description="Known only after the first proof")
    next_proofs: list[ProofKind] = Field(description="What else would count as a proof")
    ready: bool = Field(description="Enough proofs: a new password may be set")
    removes_second_factor: bool = Field(
        description="Completing turns two-factor off, after the holding period"
    )
    waits: bool = Field(
        description="Completing waits out the holding period before it takes effect"
    )
    takes_effect_at: datetime | None


class Started(RecoveryStatus):
    recovery: str = Field(
        description="A bearer secret naming this recovery: send it back in the path"
    )


class SendRequest(BaseModel):
    option: Literal["email", "sms"]


class CodeSent(BaseModel):
    sent_to: str
    expires_at: datetime
    resend_at: datetime


class ProofRequest(BaseModel):
    method: Literal["email_code", "sms_code", "password", "totp", "backup_code", "passkey"]
    code: str | None = Field(default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)
    credential: dict[str, Any] | None = Field(
        default=None,
        description="passkey: what navigator.credentials.get() gave, as JSON, for the "
        "options of POST /api/v1/recovery/{recovery}/passkey-options",
    )
    password: str | None = Field(
        default=None, min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD
    )


class CompleteRequest(BaseModel):
    new_password: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD)


class PendingRecovery(BaseModel):
    id: str
    state: Literal["open", "holding"]
    started_at: datetime
    takes_effect_at: datetime | None
    removes_second_factor: bool


class PendingRecoveries(BaseModel):
    recoveries: list[PendingRecovery]


class CancelRequest(BaseModel):
    cancel_token: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_TOKEN)


def _answer(found: service.RecoveryStatus) -> RecoveryStatus:
    return RecoveryStatus(
        id=found.public_id,
        state=found.state,
        expires_at=found.expires_at,
        options=[Destination(option=d.option, destination=d.masked) for d in found.options],
        proofs=found.proofs,
        two_factor=found.two_factor,
        next_proofs=found.next_proofs,
        ready=found.ready,
        removes_second_factor=found.removes_second_factor,
        waits=found.waits,
        takes_effect_at=found.takes_effect_at,
    )


@router.post(
    "/recovery",
    status_code=status.HTTP_202_ACCEPTED,
    responses={429: {"description": "too_many_attempts (with Retry-After)"}},
)
def start_recovery(body: StartRequest, ctx: Ctx, db: Db, origin: RequestOrigin) -> Started:
    """Start "Can't log in?". An unknown username, e-mail or phone gets the same answer."""
    started = service.start_recovery(db, ctx, origin, login=body.login)
    return Started(recovery=started.token, **_answer(started.status).model_dump())


@router.get("/recovery/{recovery}", responses={410: {"description": "recovery_expired"}})
def recovery_status(recovery: RecoveryId, ctx: Ctx, db: Db) -> RecoveryStatus:
    return _answer(service.recovery_status(db, ctx, recovery))


@router.post(
    "/recovery/{recovery}/send",
    status_code=status.HTTP_202_ACCEPTED,
    responses={
        400: {"description": "option_not_available"},
        410: {"description": "recovery_expired"},
        429: {"description": "too_many_attempts (with Retry-After)"},
        502: {"description": "delivery_failed"},
    },
)
def send_code(
    recovery: RecoveryId, body: SendRequest, ctx: Ctx, db: Db, origin: RequestOrigin
) -> CodeSent:
    """Send a 6-digit security code to one of the offered, confirmed destinations."""
    sent = service.send_recovery_code(db, ctx, origin, recovery, body.option)
    return CodeSent(sent_to=sent.destination, expires_at=sent.expires_at, resend_at=sent.resend_at)


@router.post(
    "/recovery/{recovery}/proofs",
    responses={
        400: {
            "description": "invalid_code, option_not_available; "
            "passkey_not_accepted, passkey_request_expired"
        },
        401: {"description": "invalid_credentials (the password)"},
        409: {"description": "code_already_used, security_code_first"},
        410: {"description": "recovery_expired, challenge_expired (the code)"},
        423: {"description": "second_factor_locked"},
        429: {"description": "too_many_attempts (with Retry-After)"},
    },
)
def add_proof(
    recovery: RecoveryId, body: ProofRequest, ctx: Ctx, db: Db, origin: RequestOrigin
) -> RecoveryStatus:
    """Prove it's you: a security code we sent, then (with two-factor) one more proof."""
    if body.method == "password":
        found = service.prove_with_password(db, ctx, origin, recovery, body.password or "")
    elif body.method in ("email_code", "sms_code"):
        option = "email" if body.method == "email_code" else "sms"
        found = service.prove_with_code(db, ctx, origin, recovery, option, body.code or "")
    else:
        answer = json.dumps(body.credential) if body.credential is not None else body.code
        found = service.prove_with_second_factor(
            db, ctx, origin, recovery, body.method, answer or ""
        )
    return _answer(found)


@router.post(
    "/recovery/{recovery}/passkey-options",
    responses={
        200: {
            "description": "PublicKeyCredentialRequestOptionsJSON for navigator.credentials.get()",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        400: {"description": "option_not_available: no passkey on the account"},
        409: {"description": "security_code_first"},
        410: {"description": "recovery_expired"},
    },
    response_class=JSONResponse,
)
def recovery_passkey_options(recovery: RecoveryId, ctx: Ctx, db: Db) -> JSONResponse:
    """Options for a passkey as the second proof (after a security code), 5 minutes, once."""
    options = service.recovery_passkey_options(db, ctx, recovery)
    return JSONResponse(json.loads(options), headers={"Cache-Control": "no-store"})


@router.post(
    "/recovery/{recovery}/complete",
    responses={
        409: {"description": "more_proof_needed, recovery_in_progress"},
        410: {"description": "recovery_expired"},
        422: {"description": "password_too_short, password_too_common, …"},
    },
)
def complete(
    recovery: RecoveryId, body: CompleteRequest, ctx: Ctx, db: Db, origin: RequestOrigin
) -> RecoveryStatus:
    """Set the new password. `state` says whether it applied (`completed`) or waits out the
    holding period (`holding`, until `takes_effect_at`). It never logs you in."""
    done = service.complete_recovery(db, ctx, origin, recovery, body.new_password)
    return _answer(done.status)


@router.post(
    "/recovery/cancellations",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={410: {"description": "cancel_link_expired"}},
)
def cancel_by_link(body: CancelRequest, ctx: Ctx, db: Db, origin: RequestOrigin) -> Response:
    """ "This wasn't me": the secret from the link in a recovery alert."""
    service.cancel_by_link(db, ctx, origin, body.cancel_token)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me/recoveries")
def pending_recoveries(me: ApiAccount) -> PendingRecoveries:
    """Recoveries of your account under way (past their first proof) or waiting to apply."""
    found = service.pending_recoveries(me.db, me.ctx, me.user_id)
    return PendingRecoveries(
        recoveries=[
            PendingRecovery(
                id=a.public_id,
                state=a.state,
                started_at=a.created_at,
                takes_effect_at=a.takes_effect_at,
                removes_second_factor=a.removes_second_factor,
            )
            for a in found
        ]
    )


@router.post(
    "/me/recoveries/{recovery_id}/cancel",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"description": "recovery_not_found"}},
)
def cancel_by_owner(
    recovery_id: Annotated[
        str, Path(min_length=limits.NOT_EMPTY, max_length=limits.MAX_REQUEST_ID)
    ],
    me: ApiAccount,
) -> Response:
    """Cancel a recovery of your own account from any logged-in session."""
    service.cancel_by_owner(me.db, me.ctx, me.origin, me.user_id, recovery_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
