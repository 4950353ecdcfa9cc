"""The WebAuthn ceremonies, through py_webauthn: options for the browser, and the checks
of what it sends back. No CBOR, signature or flag is read here by hand."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

from cryptography.hazmat.primitives.asymmetric import ec
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    base64url_to_bytes,
    bytes_to_base64url,
    parse_authentication_credential_json,
    parse_client_data_json,
    parse_registration_credential_json,
)
from webauthn.helpers.cose import COSECRV, COSEKTY, COSEAlgorithmIdentifier, COSEKey
from webauthn.helpers.encode_cbor import encode_cbor
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticationCredential,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    RegistrationCredential,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from mamori.passkeys.errors import PasskeyNotAccepted
from mamori.passkeys.models import Passkey
from mamori.settings import Settings

TIMEOUT_MS = 5 * 60 * 1000  # the challenge's own lifetime
RP_NAME = "mamori"
MAX_CREDENTIAL_JSON = 16 * 1024


def credential_key(raw_id: bytes) -> str:
    return hashlib.sha256(raw_id).hexdigest()


def _descriptors(passkeys: list[Passkey]) -> list[PublicKeyCredentialDescriptor]:
    known = {t.value for t in AuthenticatorTransport}
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[
                AuthenticatorTransport(t) for t in passkey.transports.split(",") if t in known
            ]
            or None,
        )
        for passkey in passkeys
    ]


def creation_options(
    settings: Settings,
    *,
    challenge: bytes,
    handle: bytes,
    username: str,
    existing: list[Passkey],
) -> str:
    """Discoverable credentials (resident keys) required, user verification preferred,
    attestation none; the person's passkeys excluded so one device is not added twice."""
    options = generate_registration_options(
        rp_id=settings.resolved_passkey_rp_id,
        rp_name=RP_NAME,
        user_name=username,
        user_id=handle,
        user_display_name=username,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.REQUIRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(existing),
    )
    return options_to_json(options)


def request_options(
    settings: Settings, *, challenge: bytes, allowed: list[Passkey], user_verification: bool
) -> str:
    """`allowed` empty: the browser offers every passkey it holds for mamori, so the
    options say nothing about any account."""
    options = generate_authentication_options(
        rp_id=settings.resolved_passkey_rp_id,
        challenge=challenge,
        timeout=TIMEOUT_MS,
        allow_credentials=_descriptors(allowed),
        user_verification=(
            UserVerificationRequirement.REQUIRED
            if user_verification
            else UserVerificationRequirement.PREFERRED
        ),
    )
    return options_to_json(options)


def parse_registration(credential_json: str) -> tuple[RegistrationCredential, bytes]:
    """The browser's credential and the challenge it signed; PasskeyNotAccepted when it
    is not one."""
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyNotAccepted()
    try:
        credential = parse_registration_credential_json(credential_json)
        client_data = parse_client_data_json(credential.response.client_data_json)
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise PasskeyNotAccepted() from error
    return credential, client_data.challenge


def parse_assertion(credential_json: str) -> tuple[AuthenticationCredential, bytes]:
    if len(credential_json) > MAX_CREDENTIAL_JSON:
        raise PasskeyNotAccepted()
    try:
        credential = parse_authentication_credential_json(credential_json)
        client_data = parse_client_data_json(credential.response.client_data_json)
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise PasskeyNotAccepted() from error
    return credential, client_data.challenge


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    credential_key: str
    public_key: bytes
    sign_count: int
    aaguid: str
    transports: str
    backed_up: bool


def check_registration(
    settings: Settings, credential: RegistrationCredential, challenge: bytes
) -> NewCredential:
    try:
        verified = verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.resolved_passkey_rp_id,
            expected_origin=settings.resolved_passkey_origin,
        )
    except (WebAuthnException, ValueError) as error:
        raise PasskeyNotAccepted() from error
    transports = [t.value for t in credential.response.transports or []]
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        credential_key=credential_key(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        transports=",".join(transports)[:200],
        backed_up=verified.credential_backed_up,
    )


@dataclass(frozen=True)
class Assertion:
    sign_count: int
    backed_up: bool


class SignCountWentBack(Exception):
    """A correct signature with a counter at or below the stored one: a copy of the
    authenticator may exist. Not a MamoriError: the caller audits, alerts and refuses."""


def check_assertion(
    settings: Settings,
    credential: AuthenticationCredential,
    challenge: bytes,
    *,
    public_key: bytes,
    sign_count: int,
    user_verification: bool,
) -> Assertion:
    def verify(current_count: int) -> Assertion:
        verified = verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=settings.resolved_passkey_rp_id,
            expected_origin=settings.resolved_passkey_origin,
            credential_public_key=public_key,
            credential_current_sign_count=current_count,
            require_user_verification=user_verification,
        )
        return Assertion(verified.new_sign_count, verified.credential_backed_up)

    try:
        return verify(sign_count)
    except (WebAuthnException, ValueError) as error:
        # py_webauthn refuses a counter that did not go up. Whether that was the only
        # fault: the same check with no counter of ours to compare with.
        if sign_count > 0 and _passes(lambda: verify(0)):
            raise SignCountWentBack() from error
        raise PasskeyNotAccepted() from error


def _passes(check: Callable[[], object]) -> bool:
    try:
        check()
    except (WebAuthnException, ValueError):
        return False
    return True


def _decoy_public_key() -> bytes:
    """A key no authenticator holds: an unknown credential is checked against it, so it
    takes the time a known one does and fails the same way."""
    numbers = ec.generate_private_key(ec.SECP256R1()).public_key().public_numbers()
    return encode_cbor(
        {
            COSEKey.KTY: COSEKTY.EC2,
            COSEKey.ALG: COSEAlgorithmIdentifier.ECDSA_SHA_256,
            COSEKey.CRV: COSECRV.P256,
            COSEKey.X: numbers.x.to_bytes(32, "big"),
            COSEKey.Y: numbers.y.to_bytes(32, "big"),
        }
    )


DECOY_PUBLIC_KEY = _decoy_public_key()


def check_against_decoy(
    settings: Settings, credential: AuthenticationCredential, challenge: bytes
) -> None:
    """The work a known passkey costs, for an unknown one (which the caller refuses)."""
    _passes(
        lambda: check_assertion(
            settings,
            credential,
            challenge,
            public_key=DECOY_PUBLIC_KEY,
            sign_count=0,
            user_verification=False,
        )
    )
