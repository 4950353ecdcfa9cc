"""JSON routes: the security overview, alerts, "Emails from mamori", "This
wasn't me" and the new password it requires."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from mamori.backup_codes.service import remaining_codes
from mamori.core.i18n import translator
from mamori.security import present
from mamori.security import service as security
from mamori.sessions.service import active_sessions
from mamori.sessions.signed_in import ApiAccount, ApiAccountSettingPassword, Db
from mamori.two_factor import service as two_factor
from mamori.web import limits
from mamori.web.deps import Ctx, RequestOrigin
from mamori.web.templating import request_locale

router = APIRouter(prefix="/api/v1", tags=["security"])


class TwoFactorOverview(BaseModel):
    enabled: bool
    methods: list[str]
    default_method: str | None


class BackupCodesOverview(BaseModel):
    exists: bool
    remaining: int


class RecoveryOverview(BaseModel):
    email: str | None
    email_confirmed: bool
    phone: str | None
    phone_confirmed: bool


class SecurityOverview(BaseModel):
    two_factor: TwoFactorOverview
    backup_codes: BackupCodesOverview
    recovery: RecoveryOverview
    sessions: int


@router.get("/me/security")
def security_overview(me: ApiAccount) -> SecurityOverview:
    user = me.user
    preferences = two_factor.two_factor_settings(me.db, user.id)
    methods = two_factor.enabled_factors(me.db, user.id)
    remaining = remaining_codes(me.db, user.id)
    sessions = active_sessions(me.db, me.ctx.clock, me.ctx.settings, user.id)
    return SecurityOverview(
        two_factor=TwoFactorOverview(
            enabled=bool(preferences and methods),
            methods=methods,
            default_method=preferences.default_method if preferences else None,
        ),
        backup_codes=BackupCodesOverview(exists=remaining is not None, remaining=remaining or 0),
        recovery=RecoveryOverview(
            email=user.email,
            email_confirmed=user.email_confirmed_at is not None,
            phone=user.phone,
            phone_confirmed=user.phone_confirmed_at is not None,
        ),
        sessions=len(sessions),
    )


class AlertOut(BaseModel):
    id: int
    event: str = Field(description="The audit event, e.g. password.changed, login.new_device")
    title: str
    detail: str | None
    at: datetime
    ip: str | None
    device: str
    wasnt_me_url: str = Field(description="Open to say \u201cThis wasn't me\u201d (30 days, once)")


class AlertList(BaseModel):
    alerts: list[AlertOut]


class MessageOut(BaseModel):
    id: int
    channel: Literal["email", "sms"]
    subject: str
    to: str = Field(description="Masked: enough to recognise, not to learn")
    status: str = Field(description="sent, failed, or outbox (development)")
    created_at: datetime


class MessageList(BaseModel):
    messages: list[MessageOut]


class NewPassword(BaseModel):
    new_password: str = Field(min_length=limits.NOT_EMPTY, max_length=limits.MAX_PASSWORD)


class WasntMe(BaseModel):
    token: str = Field(
        min_length=limits.NOT_EMPTY,
        max_length=limits.MAX_TOKEN,
        description="The last part of the link",
    )


class Secured(BaseModel):
    sessions_ended: Literal[True] = True
    password_change_required: Literal[True] = True
    review_url: str


def _gettext(request: Request) -> present.Gettext:
    return translator(request_locale(request))


@router.get("/me/alerts")
def security_alerts(request: Request, me: ApiAccount) -> AlertList:
    _ = _gettext(request)
    base = me.ctx.settings.base_url.rstrip("/")
    events = security.security_alerts(me.db, me.user_id)
    return AlertList(
        alerts=[
            AlertOut(
                **vars(present.alert_view(event, _)),
                wasnt_me_url=base + security.wasnt_me_path(me.ctx, me.user_id, event.id),
            )
            for event in events
        ]
    )


@router.get("/me/emails")
def emails_from_mamori(request: Request, me: ApiAccount) -> MessageList:
    """The security messages sent to you in the last 14 days: subjects, never bodies."""
    _ = _gettext(request)
    messages = security.recent_messages(me.db, me.ctx, me.user_id)
    views = [present.message_view(m, _) for m in messages]
    return MessageList(
        messages=[
            MessageOut(
                id=v.id,
                channel="sms" if v.channel == "sms" else "email",
                subject=v.subject,
                to=v.to,
                status=v.status,
                created_at=v.created_at,
            )
            for v in views
        ]
    )


@router.post(
    "/me/password/new",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={
        409: {"description": "password_change_not_required"},
        422: {"description": "invalid_request, password_too_short, password_reused, …"},
    },
)
def set_new_password(body: NewPassword, me: ApiAccountSettingPassword) -> Response:
    """After \u201cThis wasn't me\u201d: the token from the password_change_required
    answer sets the new password here, and from then on works like any other."""
    security.set_required_password(me.db, me.ctx, me.origin, me.session_id, body.new_password)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/wasnt-me",
    responses={
        409: {"description": "link_already_used"},
        410: {"description": "link_not_valid: forged, expired or unknown"},
    },
)
def wasnt_me(body: WasntMe, db: Db, ctx: Ctx, origin: RequestOrigin) -> Secured:
    """\u201cThis wasn't me\u201d from an app: every session of the account ends (this
    caller's too), and the next login must set a new password. No login needed."""
    security.disown(db, ctx, origin, body.token)
    return Secured(review_url=ctx.settings.base_url.rstrip("/") + security.REVIEW_PAGE)
