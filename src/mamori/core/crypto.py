"""Secrets kept outside the database: the pepper for keyed digests and the sealing keys.

A database dump alone must reveal no code, secret or token: tokens are stored as
SHA-256 digests, short codes as keyed digests (HMAC with a pepper that lives in the
secrets file), and what must be shown again is sealed with AES-GCM under a key id.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

TOKEN_BYTES = 32


class SealBroken(Exception):
    """A sealed value could not be opened: wrong key, unknown key id or tampered data."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Keyring:
    pepper: bytes
    sealing_keys: dict[str, bytes]
    current_key_id: str

    @classmethod
    def generate(cls) -> Keyring:
        key_id = secrets.token_hex(4)
        return cls(secrets.token_bytes(32), {key_id: AESGCM.generate_key(256)}, key_id)

    def to_json(self) -> str:
        return json.dumps(
            {
                "pepper": _b64(self.pepper),
                "current_key_id": self.current_key_id,
                "sealing_keys": {kid: _b64(key) for kid, key in self.sealing_keys.items()},
            },
            indent=2,
        )

    @classmethod
    def from_json(cls, text: str) -> Keyring:
        raw = json.loads(text)
        keys = {kid: _unb64(key) for kid, key in raw["sealing_keys"].items()}
        if raw["current_key_id"] not in keys:
            raise ValueError("current_key_id names no sealing key")
        return cls(_unb64(raw["pepper"]), keys, raw["current_key_id"])

    def with_new_sealing_key(self) -> Keyring:
        """Rotation: new data is sealed under a new key; old keys still open old data."""
        key_id = secrets.token_hex(4)
        return Keyring(self.pepper, {**self.sealing_keys, key_id: AESGCM.generate_key(256)}, key_id)

    def keyed_digest(self, purpose: str, *parts: str) -> str:
        """HMAC-SHA256(pepper, purpose ‖ parts); parts are length-prefixed so none can bleed."""
        message = purpose.encode()
        for part in parts:
            encoded = part.encode()
            message += len(encoded).to_bytes(4, "big") + encoded
        return hmac.new(self.pepper, message, hashlib.sha256).hexdigest()

    def seal(self, plaintext: str, context: str) -> str:
        """AES-GCM under the current key; `context` is bound as associated data."""
        nonce = secrets.token_bytes(12)
        key = self.sealing_keys[self.current_key_id]
        sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), context.encode())
        return f"{self.current_key_id}.{_b64(nonce + sealed)}"

    def unseal(self, sealed: str, context: str) -> str:
        key_id, _, payload = sealed.partition(".")
        key = self.sealing_keys.get(key_id)
        if key is None:
            raise SealBroken(f"unknown sealing key id {key_id!r}")
        raw = _unb64(payload)
        try:
            return AESGCM(key).decrypt(raw[:12], raw[12:], context.encode()).decode()
        except InvalidTag as exc:
            raise SealBroken("sealed value does not open") from exc


def load_or_create_keyring(path: Path) -> Keyring:
    """Read the secrets file, creating it (mode 0600) on first start."""
    if path.exists():
        return Keyring.from_json(path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    keyring = Keyring.generate()
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(keyring.to_json())
    # link() is atomic and refuses to overwrite: of two processes starting at once,
    # one keyring wins and both use it.
    try:
        os.link(temporary, path)
    except FileExistsError:
        keyring = Keyring.from_json(path.read_text())
    finally:
        temporary.unlink()
    return keyring


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_digest(token: str) -> str:
    """Tokens carry 256 bits of entropy, so a plain SHA-256 is a safe lookup key."""
    return hashlib.sha256(token.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
