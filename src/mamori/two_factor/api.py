"""JSON routes: turn on an authenticator app or text-message codes, choose the default,
remove a method, turn two-factor off."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Response, status
from pydantic import BaseModel, Field

from mamori.sessions.signed_in import ApiAccount, RecentlyConfirmedApiAccount
from mamori.totp import service as totp
from mamori.two_factor import service
from mamori.web import limits

router = APIRouter(prefix="/api/v1/me/two-factor", tags=["two-factor"])
REAUTH: dict[int | str, dict[str, Any]] = {403: {"description": "reauthentication_required"}}


class TotpEnrollment(BaseModel):
    secret: str
    otpauth_uri: str
    qr_svg: str


class CodeRequest(BaseModel):
    code: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_CODE)


class PhoneRequest(BaseModel):
    phone: str = Field(
        min_length=limits.NOT_EMPTY, max_length=limits.MAX_PHONE, description="Any common notation"
    )


class Enabled(BaseModel):
    enabled: Literal[True] = True
    backup_codes: list[str] = Field(description="Only when this turned two-factor on")


class TwoFactorStatus(BaseModel):
    enabled: bool
    methods: list[str]
    default_method: str | None


class DefaultMethod(BaseModel):
    method: Literal["passkey", "totp", "sms"]


@router.get("")
def two_factor_status(me: ApiAccount) -> TwoFactorStatus:
    preferences = service.two_factor_settings(me.db, me.user_id)
    methods = service.enabled_factors(me.db, me.user_id)
    return TwoFactorStatus(
        enabled=bool(preferences and methods),
        methods=methods,
        default_method=preferences.default_method if preferences else None,
    )


@router.post("/totp", responses=REAUTH)
def start_authenticator(me: RecentlyConfirmedApiAccount) -> TotpEnrollment:
    enrollment = totp.start_enrollment(me.db, me.ctx, me.user_id, me.user.username)
    return TotpEnrollment(
        secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri, qr_svg=enrollment.qr_svg
    )


@router.post(
    "/totp/confirm",
    responses={
        **REAUTH,
        400: {"description": "invalid_code"},
        409: {"description": "no_pending_authenticator: start with POST /totp first"},
    },
)
def confirm_authenticator(body: CodeRequest, me: RecentlyConfirmedApiAccount) -> Enabled:
    codes = service.confirm_authenticator(me.db, me.ctx, me.origin, me.user, body.code)
    return Enabled(backup_codes=codes)


@router.post("/sms", status_code=status.HTTP_202_ACCEPTED, responses=REAUTH)
def start_text_messages(body: PhoneRequest, me: RecentlyConfirmedApiAccount) -> Response:
    service.start_phone_enrollment(me.db, me.ctx, me.origin, me.user, body.phone)
    return Response(status_code=status.HTTP_202_ACCEPTED)


@router.post(
    "/sms/confirm",
    responses={
        **REAUTH,
        400: {"description": "invalid_code"},
        409: {"description": "no_pending_phone: start with POST /sms first"},
    },
)
def confirm_text_messages(body: CodeRequest, me: RecentlyConfirmedApiAccount) -> Enabled:
    codes = service.confirm_phone_enrollment(me.db, me.ctx, me.origin, me.user, body.code)
    return Enabled(backup_codes=codes)


NOT_SET_UP: dict[int | str, dict[str, Any]] = {
    400: {"description": "method_not_available: that method isn't set up for this account"}
}


@router.put("/default", status_code=status.HTTP_204_NO_CONTENT, responses=NOT_SET_UP)
def choose_default(body: DefaultMethod, me: ApiAccount) -> Response:
    service.set_default_method(me.db, me.ctx, me.origin, me.user, body.method)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{method}", status_code=status.HTTP_204_NO_CONTENT, responses={**REAUTH, **NOT_SET_UP}
)
def remove_method(method: Literal["totp", "sms"], me: RecentlyConfirmedApiAccount) -> Response:
    service.remove_method(me.db, me.ctx, me.origin, me.user, method)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("", status_code=status.HTTP_204_NO_CONTENT, responses=REAUTH)
def turn_off(me: RecentlyConfirmedApiAccount) -> Response:
    service.turn_off_two_factor(me.db, me.ctx, me.origin, me.user)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/passkey",
    responses={
        **REAUTH,
        400: {"description": "method_not_available: no passkey yet, or two-factor is on"},
    },
)
def turn_on_with_passkey(me: RecentlyConfirmedApiAccount) -> Enabled:
    """Two-factor on, starting with a passkey added at POST /api/v1/me/passkeys; the
    first backup codes come with it."""
    codes = service.turn_on_with_passkey(me.db, me.ctx, me.origin, me.user)
    return Enabled(backup_codes=codes)
