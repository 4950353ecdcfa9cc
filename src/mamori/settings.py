"""Every setting mamori reads, in one typed object (environment variables `MAMORI_*`)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

# OWASP Password Storage Cheat Sheet's minimum for argon2id.
OWASP_ARGON2_MEMORY_KIB = 19456
OWASP_ARGON2_TIME_COST = 2


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAMORI_", extra="ignore")

    env: Literal["production", "development"] = "production"
    data_dir: Path = Path("mamori-data")
    database_url: str | None = None
    redis_url: str | None = None
    secrets_file: Path | None = None
    base_url: str = "http://localhost:8000"

    # Sessions: a consumer app keeps people logged in; see README "Security model".
    session_idle_minutes: int = Field(default=7 * 24 * 60, ge=5)
    session_absolute_minutes: int = Field(default=30 * 24 * 60, ge=5)
    reauthentication_minutes: int = Field(default=10, ge=1, le=60)

    argon2_memory_kib: int = Field(default=OWASP_ARGON2_MEMORY_KIB, ge=OWASP_ARGON2_MEMORY_KIB)
    argon2_time_cost: int = Field(default=OWASP_ARGON2_TIME_COST, ge=OWASP_ARGON2_TIME_COST)
    argon2_parallelism: int = Field(default=1, ge=1, le=16)

    password_min_length: int = Field(default=8, ge=8)
    # Where the password is the only factor (no two-factor yet, and at sign-up), NIST SP
    # 800-63B-4 asks for 15.
    password_min_length_single_factor: int = Field(default=15, ge=8)
    password_max_length: int = Field(default=256, ge=64, le=4096)

    # Failed password logins. Successes are never counted.
    login_ip_failures: int = Field(default=100, ge=1)
    login_ip_window_minutes: int = Field(default=15, ge=1)
    # Every sign-up costs an argon2id hash: sign-ups (not only failed ones) per IP per hour.
    signup_ip_per_hour: int = Field(default=30, ge=1)
    login_account_free_failures: int = Field(default=5, ge=1)
    login_account_max_delay_seconds: int = Field(default=15 * 60, ge=1)

    # Second-factor failures, counted per account across all methods (NIST SP 800-63B).
    second_factor_free_failures: int = Field(default=5, ge=1)
    second_factor_lock_failures: int = Field(default=100, ge=10, le=100)
    second_factor_max_delay_seconds: int = Field(default=15 * 60, ge=1)

    # Two-factor: the login challenge, and e-mail codes as a second factor (off by default,
    # as NIST SP 800-63B does not count e-mail as an authenticator).
    login_challenge_minutes: int = Field(default=10, ge=1, le=60)
    email_second_factor: bool = False

    # Backup codes. "viewable" (as Instagram): keyed digest + sealed copy, viewable again after
    # reauthentication. "hash_only" (NIST SP 800-63B, OWASP ASVS 6.5.2): shown once, argon2id.
    backup_codes_mode: Literal["viewable", "hash_only"] = "viewable"
    backup_codes_count: int = Field(default=10, ge=5, le=20)
    backup_code_digits: int = Field(default=8, ge=8, le=12)

    trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    default_locale: Literal["en", "ja"] = "en"
    default_phone_region: str = "JP"
    max_body_bytes: int = Field(default=64 * 1024, ge=1024)
    # `mamori serve`: request line and headers together, and the time a client has to
    # send them (from connecting, or from a kept-alive request's first byte).
    max_header_bytes: int = Field(default=16 * 1024, ge=4 * 1024, le=1024 * 1024)
    header_timeout_seconds: float = Field(default=10, gt=0, le=300)

    # Delivery channels. Without a host / provider the outbox is the delivery (development).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "mamori <no-reply@localhost>"
    smtp_security: Literal["starttls", "tls", "none"] = "starttls"
    smtp_ca_file: Path | None = None  # a private CA for the SMTP server's certificate
    sms_provider_url: str | None = None  # Twilio Messages API, e.g. https://api.twilio.com
    sms_account_sid: str | None = None
    sms_auth_token: str | None = None
    sms_from: str | None = None
    delivery_timeout_seconds: float = Field(default=10, gt=0, le=60)
    # Alerts wait in the outbox for the delivery worker (notifications/service.py); a failed
    # hand-over is retried after delivery_retry_seconds, doubling each time, then given up.
    delivery_worker: bool = True  # `mamori serve` runs it; false: `mamori outbox deliver` (cron)
    delivery_poll_seconds: float = Field(default=5, gt=0, le=300)
    delivery_max_attempts: int = Field(default=8, ge=1, le=50)
    delivery_retry_seconds: int = Field(default=30, ge=1, le=3600)

    # Security codes sent by SMS / e-mail (6 digits, single use, 5 attempts; ASVS 6.5.5).
    security_code_sms_minutes: int = Field(default=10, ge=1, le=10)
    security_code_email_minutes: int = Field(default=10, ge=1, le=10)
    security_code_recovery_email_minutes: int = Field(default=30, ge=1, le=60)
    security_code_max_attempts: int = Field(default=5, ge=1, le=10)
    security_code_resend_seconds: int = Field(default=30, ge=0, le=600)
    security_code_sends_per_binding: int = Field(default=5, ge=1)
    security_code_sends_per_destination_hour: int = Field(default=10, ge=1)
    security_code_sends_per_ip_hour: int = Field(default=30, ge=1)
    # Every text, security codes and alerts, all numbers together (SMS pumping); an alert
    # over it goes by e-mail, or waits in the outbox when the account has no e-mail.
    sms_sends_per_hour: int = Field(default=1000, ge=1)

    # "Can't log in?" recovery (NIST SP 800-63B-4 §4.2).
    recovery_attempt_hours: int = Field(default=24, ge=1, le=72)
    # A recovery that removes or replaces a second factor waits this long, while every
    # address and session is told and can cancel it.
    recovery_holding_hours: int = Field(default=72, ge=0, le=720)
    recovery_starts_per_ip_hour: int = Field(default=20, ge=1)
    recovery_starts_per_account_hour: int = Field(default=5, ge=1)
    # Trusted contacts: how many must vouch, and how long their codes live.
    trusted_contacts_threshold: int = Field(default=3, ge=2, le=5)
    trusted_contact_code_hours: int = Field(default=24, ge=1, le=72)
    # Support cases, the last resort: evidence files (JPEG, PNG, PDF) per case, all together,
    # and how many cases one IP, one typed login and one contact address may open a day.
    support_evidence_max_bytes: int = Field(default=5 * 1024 * 1024, ge=0, le=50 * 1024 * 1024)
    support_cases_per_ip_day: int = Field(default=10, ge=1)
    support_cases_per_account_day: int = Field(default=3, ge=1)
    support_cases_per_contact_day: int = Field(default=3, ge=1)

    # OpenID Connect provider (oidc/): how long what an app gets lives, which algorithm
    # signs it, and how many token requests one app may make a minute.
    oidc_access_token_minutes: int = Field(default=5, ge=1, le=60)
    oidc_id_token_minutes: int = Field(default=10, ge=1, le=60)
    oidc_signing_alg: Literal["ES256", "RS256"] = "ES256"
    oidc_token_requests_per_client_minute: int = Field(default=600, ge=1)
    # Passkeys (WebAuthn): the relying party id passkeys are made for, and the origin the
    # browser must report. Unset: the host of base_url, and base_url itself. Set both where
    # the login page lives on a parent domain (rp id "example.com", origin "https://id.example.com").
    passkey_rp_id: str | None = Field(default=None, min_length=1, max_length=253)
    passkey_origin: str | None = Field(default=None, min_length=8, max_length=300)

    # Operations (README "Operations"). /metrics answers only with this bearer token;
    # without one it is off in production and open in development.
    metrics_token: str | None = Field(default=None, min_length=16)
    # One JSON object per log line, or plain text; unset: JSON in production.
    log_format: Literal["json", "text"] | None = None

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("trusted_proxies")
    @classmethod
    def _check_proxies(cls, value: list[str]) -> list[str]:
        for network in value:
            ipaddress.ip_network(network, strict=False)
        return value

    @model_validator(mode="after")
    def _single_factor_at_least_the_minimum(self) -> Settings:
        if self.password_min_length_single_factor < self.password_min_length:
            raise ValueError(
                "password_min_length_single_factor must be at least password_min_length"
            )
        return self

    @property
    def development(self) -> bool:
        return self.env == "development"

    @property
    def resolved_log_format(self) -> Literal["json", "text"]:
        if self.log_format:
            return self.log_format
        return "text" if self.development else "json"

    @property
    def resolved_passkey_origin(self) -> str:
        return (self.passkey_origin or self.base_url).rstrip("/")

    @property
    def resolved_passkey_rp_id(self) -> str:
        return self.passkey_rp_id or (urlsplit(self.base_url).hostname or "localhost")

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'mamori.db').resolve()}"

    @property
    def resolved_secrets_file(self) -> Path:
        return self.secrets_file or self.data_dir / "secrets.json"
