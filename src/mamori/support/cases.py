"""What every step of a support case shares: its reference, finding it, its sealed fields."""

from __future__ import annotations

import re
import secrets
import unicodedata

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import select
from sqlalchemy.orm import Session

from mamori.context import Context
from mamori.core.crypto import Keyring, SealBroken
from mamori.support.errors import CaseNotFound
from mamori.support.models import SupportCase

# References people read out and type: no 0/O, 1/I/L, U; 12 characters, about 59 bits.
REFERENCE_ALPHABET = "ABCDEFGHJKMNPQRSTVWXYZ23456789"
REFERENCE = re.compile(rf"[{REFERENCE_ALPHABET}]{{4}}(-[{REFERENCE_ALPHABET}]{{4}}){{2}}")
# Everything but tab, line feed and carriage return among the C0/C1 controls.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def normalize_reference(typed: str) -> str:
    """ "k7qx 2mda 9rte", "K7QX2MDA9RTE" and "K7QX-2MDA-9RTE" name one case."""
    if len(typed) > 64:
        raise CaseNotFound()
    compact = re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", typed)).upper()
    reference = f"{compact[:4]}-{compact[4:8]}-{compact[8:]}"
    if len(compact) != 12 or not REFERENCE.fullmatch(reference):
        raise CaseNotFound()
    return reference


def find_case(db: Session, reference: str, *, lock: bool = False) -> SupportCase:
    query = select(SupportCase).where(SupportCase.reference == normalize_reference(reference))
    case = db.scalar(query.with_for_update() if lock else query)
    if case is None:
        raise CaseNotFound()
    return case


def encodable(text: str) -> bool:
    # A lone surrogate (valid in JSON as \ud800) is not text and cannot be stored or sealed.
    return not any(unicodedata.category(ch) == "Cs" for ch in text)


# --- sealing -----------------------------------------------------------------------------


def seal_field(ctx: Context, reference: str, field: str, text: str) -> str:
    return ctx.keyring.seal(text, f"support-case:{reference}:{field}")


def unseal_field(ctx: Context, reference: str, field: str, sealed: str) -> str:
    return ctx.keyring.unseal(sealed, f"support-case:{reference}:{field}")


def file_context(reference: str, position: int) -> str:
    return f"support-case:{reference}:file:{position}"


def seal_bytes(keyring: Keyring, data: bytes, context: str) -> tuple[str, bytes]:
    """AES-GCM under the current sealing key, `context` bound as associated data:
    (key id, nonce ‖ ciphertext). The keyring's own seal() is for text."""
    nonce = secrets.token_bytes(12)
    key = keyring.sealing_keys[keyring.current_key_id]
    return keyring.current_key_id, nonce + AESGCM(key).encrypt(nonce, data, context.encode())


def unseal_bytes(keyring: Keyring, key_id: str, sealed: bytes, context: str) -> bytes:
    key = keyring.sealing_keys.get(key_id)
    if key is None:
        raise SealBroken(f"unknown sealing key id {key_id!r}")
    try:
        return AESGCM(key).decrypt(sealed[:12], sealed[12:], context.encode())
    except InvalidTag as exc:
        raise SealBroken("sealed file does not open") from exc
