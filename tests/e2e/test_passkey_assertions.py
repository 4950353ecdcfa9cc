"""Real credentials from Chromium's virtual authenticator, checked by mamori's ceremony
code (py_webauthn underneath): accepted as made, refused for another origin, another
relying party, a missing user-verification flag and a counter that went back."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Page
from webauthn.helpers import bytes_to_base64url

from mamori.passkeys import ceremony
from mamori.passkeys.errors import PasskeyNotAccepted
from mamori.settings import Settings
from tests.e2e.conftest import PC, Server
from tests.e2e.test_passkeys import new_page, with_authenticator

CREATE = """async (options) => {
  const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(options);
  return (await navigator.credentials.create({ publicKey })).toJSON();
}"""
GET = """async (options) => {
  const publicKey = PublicKeyCredential.parseRequestOptionsFromJSON(options);
  return (await navigator.credentials.get({ publicKey })).toJSON();
}"""


def challenge() -> tuple[bytes, str]:
    raw = secrets.token_bytes(32)
    return raw, bytes_to_base64url(raw)


@pytest.fixture
def page(browser: Any, server: Server) -> Iterator[Page]:
    context, opened = new_page(browser, PC)
    opened.goto(f"{server.url}/signup")  # a page of the origin without passkeys.js
    with_authenticator(opened)
    yield opened
    context.close()


def settings_for(server: Server, **changes: str) -> Settings:
    values = {"base_url": server.url, **changes}
    return Settings(env="development", **values)  # type: ignore[arg-type]


def make_passkey(page: Page, settings: Settings) -> tuple[ceremony.NewCredential, str]:
    raw, text = challenge()
    options = ceremony.creation_options(
        settings, challenge=raw, handle=secrets.token_bytes(64), username="hana", existing=[]
    )
    made = page.evaluate(CREATE, json.loads(options))
    credential, signed = ceremony.parse_registration(json.dumps(made))
    assert signed == raw
    return ceremony.check_registration(settings, credential, raw), text


def assertion(
    page: Page, settings: Settings, *, user_verification: bool = True
) -> tuple[Any, bytes]:
    raw, _ = challenge()
    options = ceremony.request_options(
        settings, challenge=raw, allowed=[], user_verification=user_verification
    )
    if not user_verification:
        options = options.replace(
            '"userVerification": "preferred"', '"userVerification": "discouraged"'
        )
    got = page.evaluate(GET, json.loads(options))
    credential, signed = ceremony.parse_assertion(json.dumps(got))
    assert signed == raw
    return credential, raw


def test_a_real_passkey_is_accepted_and_its_counter_moves_on(page: Page, server: Server):
    settings = settings_for(server)
    made, _ = make_passkey(page, settings)

    credential, raw = assertion(page, settings)
    checked = ceremony.check_assertion(
        settings,
        credential,
        raw,
        public_key=made.public_key,
        sign_count=made.sign_count,
        user_verification=True,
    )

    assert checked.sign_count > made.sign_count


@pytest.mark.parametrize(
    "elsewhere",
    [{"passkey_origin": "https://mamori.example.net"}, {"passkey_rp_id": "example.net"}],
    ids=["another-origin", "another-relying-party"],
)
def test_an_assertion_for_another_site_is_refused(
    page: Page, server: Server, elsewhere: dict[str, str]
):
    settings = settings_for(server)
    made, _ = make_passkey(page, settings)
    credential, raw = assertion(page, settings)

    with pytest.raises(PasskeyNotAccepted):
        ceremony.check_assertion(
            settings_for(server, **elsewhere),
            credential,
            raw,
            public_key=made.public_key,
            sign_count=made.sign_count,
            user_verification=True,
        )


def test_without_user_verification_it_is_a_second_factor_only(page: Page, server: Server):
    settings = settings_for(server)
    made, _ = make_passkey(page, settings)
    cdp, authenticator = page.__dict__["_mamori_cdp"]
    cdp.send(
        "WebAuthn.setUserVerified", {"authenticatorId": authenticator, "isUserVerified": False}
    )
    credential, raw = assertion(page, settings, user_verification=False)

    def check(required: bool) -> ceremony.Assertion:
        return ceremony.check_assertion(
            settings,
            credential,
            raw,
            public_key=made.public_key,
            sign_count=made.sign_count,
            user_verification=required,
        )

    with pytest.raises(PasskeyNotAccepted):
        check(required=True)  # a passkey alone needs it
    assert check(required=False).sign_count > made.sign_count  # a second factor prefers it


def test_a_counter_lower_than_the_stored_one_is_flagged(page: Page, server: Server):
    settings = settings_for(server)
    made, _ = make_passkey(page, settings)
    credential, raw = assertion(page, settings)

    with pytest.raises(ceremony.SignCountWentBack):
        ceremony.check_assertion(
            settings,
            credential,
            raw,
            public_key=made.public_key,
            sign_count=1000,  # the server saw 1000 before: this device is behind, a copy
            user_verification=True,
        )
