"""The ways a message leaves mamori: an SMTP server and an SMS provider (Twilio's API).

A channel either hands the message over or raises ChannelError with a reason that is
safe to log: it names what failed, never the message, the recipient or a credential.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import ssl
from collections.abc import Coroutine
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from functools import cache
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import quote

import aiosmtplib
import httpx

from mamori.core.clock import Clock
from mamori.settings import Settings

T = TypeVar("T")


class ChannelError(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine from sync code; routes run in a worker thread with no event loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coroutine)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@dataclass(frozen=True)
class SmtpChannel:
    host: str
    port: int
    sender: str
    security: Literal["starttls", "tls", "none"]
    timeout: float
    username: str | None = None
    password: str | None = None
    ca_file: Path | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SmtpChannel | None:
        if not settings.smtp_host:
            return None
        return cls(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_from,
            security=settings.smtp_security,
            timeout=settings.delivery_timeout_seconds,
            username=settings.smtp_username,
            password=settings.smtp_password,
            ca_file=settings.smtp_ca_file,
        )

    def compose(self, clock: Clock, *, to: str, subject: str, body: str) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.sender
        message["To"] = Address(addr_spec=to)
        message["Subject"] = subject
        message["Date"] = format_datetime(clock.now())
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        message["Message-ID"] = make_msgid(domain=domain)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no auto-replies to us
        message.set_content(body)  # UTF-8, so Japanese reads as written
        return message

    def send(self, message: EmailMessage) -> str:
        """Hand the message to the SMTP server; returns its Message-ID."""
        try:
            _run(
                aiosmtplib.send(
                    message,
                    hostname=self.host,
                    port=self.port,
                    username=self.username,
                    password=self.password,
                    use_tls=self.security == "tls",
                    start_tls=self.security == "starttls",
                    cert_bundle=str(self.ca_file) if self.ca_file else None,
                    timeout=self.timeout,
                )
            )
        except aiosmtplib.SMTPResponseException as exc:
            raise ChannelError(f"smtp {type(exc).__name__} {exc.code}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = " ".join(sorted({str(refused.code) for refused in exc.recipients}))
            raise ChannelError(f"smtp SMTPRecipientsRefused {codes}") from exc
        except (aiosmtplib.SMTPException, OSError, TimeoutError, ValueError) as exc:
            raise ChannelError(f"smtp {type(exc).__name__}") from exc
        return str(message["Message-ID"])


@dataclass(frozen=True)
class TwilioSmsChannel:
    """Twilio's Messages API, which several SMS providers also speak."""

    base_url: str
    account_sid: str
    auth_token: str
    sender: str
    timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> TwilioSmsChannel | None:
        if not settings.sms_provider_url:
            return None
        if not (settings.sms_account_sid and settings.sms_auth_token and settings.sms_from):
            raise ChannelError(
                "MAMORI_SMS_PROVIDER_URL needs MAMORI_SMS_ACCOUNT_SID, "
                "MAMORI_SMS_AUTH_TOKEN and MAMORI_SMS_FROM"
            )
        return cls(
            base_url=settings.sms_provider_url.rstrip("/"),
            account_sid=settings.sms_account_sid,
            auth_token=settings.sms_auth_token,
            sender=settings.sms_from,
            timeout=settings.delivery_timeout_seconds,
        )

    def send(self, *, to: str, body: str) -> str:
        """Ask the provider to text `body` to `to` (E.164); returns the message sid."""
        url = (
            f"{self.base_url}/2010-04-01/Accounts/{quote(self.account_sid, safe='')}/Messages.json"
        )
        # A Messaging Service sid (MG…) lets the provider pick the sending number.
        sender_field = "MessagingServiceSid" if self.sender.startswith("MG") else "From"
        try:
            response = httpx.post(
                url,
                data={"To": to, sender_field: self.sender, "Body": body},
                auth=(self.account_sid, self.auth_token),
                headers={"Accept": "application/json"},
                timeout=self.timeout,
                follow_redirects=False,
                verify=_tls_context(),
            )
        except httpx.HTTPError as exc:
            raise ChannelError(f"sms {type(exc).__name__}") from exc
        answer = _json_object(response)
        if response.status_code not in (200, 201):
            raise ChannelError(
                f"sms provider answered {response.status_code} {answer.get('code', '')}"
            )
        if answer.get("status") in ("failed", "undelivered", "canceled"):
            raise ChannelError(
                f"sms provider status {answer['status']} {answer.get('error_code', '')}"
            )
        return str(answer.get("sid") or "")[:255]


def post_logout_token(settings: Settings, *, to: str, logout_token: str) -> str:
    """Back-Channel Logout 1.0 §2.5: a form POST of `logout_token`; the app answers 200
    (or 204). Anything else is retried like any failed hand-over."""
    try:
        response = httpx.post(
            to,
            data={"logout_token": logout_token},
            headers={"Accept": "application/json"},
            timeout=settings.delivery_timeout_seconds,
            follow_redirects=False,
            verify=_tls_context(),
        )
    except httpx.HTTPError as exc:
        raise ChannelError(f"logout {type(exc).__name__}") from exc
    if response.status_code not in (200, 204):
        raise ChannelError(f"logout endpoint answered {response.status_code}")
    return ""


NO_CHANNEL = "no channel configured"


# An app's back-channel logout endpoint (OpenID Back-Channel Logout 1.0): `to` is its URI,
# the body its logout token. Every app registered with one is a way out of its own.
BACKCHANNEL_LOGOUT = "logout"


def channel_configured(settings: Settings, channel: str) -> bool:
    """Whether this server has a way out for `channel` ("email", "sms" or "logout")."""
    if channel == BACKCHANNEL_LOGOUT:
        return True
    return bool(settings.smtp_host if channel == "email" else settings.sms_provider_url)


def hand_over(
    settings: Settings, clock: Clock, *, channel: str, to: str, subject: str, body: str
) -> str:
    """Give one message to its channel; returns the channel's reference for it.

    Raises ChannelError, also when the channel is not (or only half) configured."""
    if channel == BACKCHANNEL_LOGOUT:
        return post_logout_token(settings, to=to, logout_token=body)
    if channel == "email":
        smtp = SmtpChannel.from_settings(settings)
        if smtp is None:
            raise ChannelError(NO_CHANNEL)
        return smtp.send(smtp.compose(clock, to=to, subject=subject, body=body))
    provider = TwilioSmsChannel.from_settings(settings)
    if provider is None:
        raise ChannelError(NO_CHANNEL)
    return provider.send(to=to, body=body)


@cache
def _tls_context() -> ssl.SSLContext:
    """Built once: loading the CA bundle costs more than sending a text."""
    return httpx.create_ssl_context()


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}
