"""Security codes as a user meets them over the API, texted through a real HTTP provider."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mamori.app import create_app
from mamori.context import Context
from mamori.core.clock import MovableClock
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.notifications.conftest import configured
from tests.notifications.fakes import SmsProvider, provider_settings, sms_provider

PHONE = "+819012345678"


@pytest.fixture
def provider() -> Iterator[SmsProvider]:
    with sms_provider() as running:
        yield running


@pytest.fixture
def api(ctx: Context, provider: SmsProvider) -> Iterator[TestClient]:
    texting = configured(ctx, **provider_settings(provider))
    with TestClient(create_app(context=texting), base_url="http://localhost") as client:
        yield client


def texted_code(provider: SmsProvider) -> str:
    found = re.search(r"\b(\d{6})\b", provider.bodies_to(PHONE)[-1])
    assert found
    return found.group(1)


def test_turning_on_text_messages_sends_the_code_through_the_provider(api, provider):
    sign_up(api, "hana")
    token = log_in(api, "hana")
    started = api.post(
        "/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": "090-1234-5678"}
    )
    assert started.status_code == 202, started.text
    assert len(provider.bodies_to(PHONE)) == 1
    confirmed = api.post(
        "/api/v1/me/two-factor/sms/confirm",
        headers=bearer(token),
        json={"code": texted_code(provider)},
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["enabled"] is True


def test_asking_again_at_once_answers_429_with_retry_after(
    api: TestClient, provider: SmsProvider, clock: MovableClock
) -> None:
    sign_up(api, "hana")
    token = log_in(api, "hana")

    def ask() -> Any:
        return api.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": PHONE})

    assert ask().status_code == 202
    again = ask()
    assert again.status_code == 429
    assert again.headers["Retry-After"] == "30"
    assert again.json()["code"] == "too_many_attempts"
    assert len(provider.bodies_to(PHONE)) == 1  # nothing was texted for the refused ask
    clock.advance(seconds=30)
    assert ask().status_code == 202


def test_a_provider_outage_is_reported_not_hidden(api, provider):
    sign_up(api, "hana")
    token = log_in(api, "hana")
    provider.mode = "error"
    answer = api.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": PHONE})
    assert answer.status_code == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "delivery_failed"
    [message] = api.get("/dev/outbox").json()
    assert message["status"] == "failed"


def test_logging_in_with_a_texted_code(api, provider, clock: MovableClock):
    sign_up(api, "hana")
    token = log_in(api, "hana")
    api.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": PHONE})
    api.post(
        "/api/v1/me/two-factor/sms/confirm",
        headers=bearer(token),
        json={"code": texted_code(provider)},
    )
    login = api.post("/api/v1/login", json={"login": "hana", "password": PASSWORD}).json()
    assert login["status"] == "two_factor_required"
    challenge = login["challenge"]
    sent = api.post(f"/api/v1/login/{challenge}/send", json={"method": "sms"})
    assert sent.status_code == 202, sent.text
    code = texted_code(provider)
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    verified = api.post(
        f"/api/v1/login/{challenge}/verify",
        json={"method": "sms", "code": f"{full_width[:3]} {full_width[3:]}"},
    )
    assert verified.status_code == 200, verified.text
    assert verified.json()["status"] == "authenticated"
    replayed = api.post(f"/api/v1/login/{challenge}/verify", json={"method": "sms", "code": code})
    assert replayed.status_code in (409, 410)
