"""What sending and checking a code share: its shape, how it is stored (one row per binding,
keyed digests of the binding and of the code), and how its destination is shown."""

from __future__ import annotations

import re
from typing import Literal

import phonenumbers
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.codes.models import SecurityCode
from mamori.context import Context

Channel = Literal["sms", "email"]
CODE_DIGITS = 6
PURPOSE = re.compile(r"[a-z][a-z0-9_]{0,31}")
MAX_BINDING = 512
MASK = "•••"


def binding_digest(ctx: Context, purpose: str, binding: str) -> str:
    return ctx.keyring.keyed_digest("security-code-binding", purpose, binding)


def code_digest(ctx: Context, purpose: str, binding: str, code: str) -> str:
    return ctx.keyring.keyed_digest("security-code", purpose, binding, code)


def code_for(db: Session, binding_digest: str) -> SecurityCode | None:
    return db.scalar(select(SecurityCode).where(SecurityCode.binding_digest == binding_digest))


def mask_destination(channel: Channel, destination: str) -> str:
    """Enough to recognize one's own address or number, not enough to learn it."""
    if channel == "email":
        local, _, domain = destination.rpartition("@")
        name, _, tld = domain.rpartition(".")
        masked_local = local[:1] + MASK + (local[-1:] if len(local) > 2 else "")
        masked_domain = (name[:1] + MASK + "." + tld) if name else MASK
        return f"{masked_local}@{masked_domain}"
    try:
        number = phonenumbers.parse(destination, None)
        country = f"+{number.country_code}"
        national = phonenumbers.format_number(
            number, phonenumbers.PhoneNumberFormat.INTERNATIONAL
        ).removeprefix(country)
    except phonenumbers.NumberParseException:
        return MASK + destination[-2:]
    groups = re.sub(r"[^0-9]+", " ", national).strip()
    digits_seen, masked = sum(ch.isdigit() for ch in groups), []
    for ch in groups:
        if ch.isdigit():
            digits_seen -= 1
            masked.append(ch if digits_seen < 2 else "•")
        else:
            masked.append(ch)
    return f"{country} {''.join(masked)}"
