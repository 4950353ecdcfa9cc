"""Six-digit codes by SMS and e-mail: sent, typed back once, within 10 minutes and 5 tries."""

from __future__ import annotations

import dataclasses
import re
import threading
from collections import Counter
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select, text

from mamori.accounts.errors import InvalidEmail, InvalidPhone
from mamori.audit.service import Origin, recent_events
from mamori.codes.service import (
    CodeRequest,
    SentCode,
    mask_destination,
    send_security_code,
    verify_security_code,
)
from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.core.errors import (
    ChallengeExpired,
    CodeAlreadyUsed,
    InvalidCode,
    TooManyAttempts,
)
from mamori.core.throttle import Throttle
from mamori.models import Base
from mamori.notifications.errors import DeliveryFailed
from mamori.notifications.outbox import outbox
from mamori.sessions.http import unauthenticated_api_request
from mamori.web.errors import install_error_handlers
from tests.conftest import redis_counters
from tests.notifications.conftest import configured
from tests.notifications.fakes import provider_settings, sms_provider

pytestmark = pytest.mark.both_databases

ORIGIN = Origin(ip="198.51.100.7", user_agent="phone")
PHONE = "+819012345678"
BINDING = "login:41"


def send(
    ctx: Context,
    binding: str = BINDING,
    *,
    channel: Any = "sms",
    destination: str = PHONE,
    purpose: str = "login",
    locale: str = "en",
    origin: Origin = ORIGIN,
) -> SentCode:
    with ctx.database.session() as db:
        return send_security_code(
            db,
            ctx,
            origin,
            CodeRequest(
                user_id=None,
                purpose=purpose,
                binding=binding,
                channel=channel,
                destination=destination,
                locale=locale,
            ),
        )


def verify(ctx: Context, typed: str, binding: str = BINDING, purpose: str = "login") -> None:
    with ctx.database.session() as db:
        verify_security_code(db, ctx, ORIGIN, purpose=purpose, binding=binding, typed=typed)


def last_message(ctx: Context, to: str = PHONE) -> tuple[str, str]:
    with ctx.database.session() as db:
        message = next(m for m in outbox(db) if m.to == to)
        return message.subject, message.body


def last_code(ctx: Context, to: str = PHONE) -> str:
    match = re.search(r"\b(\d{6})\b", last_message(ctx, to)[1])
    assert match, "no code in the message"
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_a_texted_code_works_once(ctx):
    sent = send(ctx)
    assert sent.destination == "+81 •• •••• ••78"
    assert sent.channel == "sms"
    code = last_code(ctx)
    verify(ctx, code)
    with pytest.raises(CodeAlreadyUsed) as again:
        verify(ctx, code)
    assert again.value.used_at == ctx.clock.now()


def test_the_text_is_in_english_or_japanese_and_ends_with_the_web_otp_line(ctx):
    send(ctx, "enroll:1", purpose="enroll_sms", locale="ja")
    _, japanese = last_message(ctx)
    code = last_code(ctx)
    assert japanese.startswith(f"mamoriの電話番号の確認用セキュリティコード: {code}")
    assert "10分間有効です。このコードは誰にも教えないでください。" in japanese
    assert japanese.endswith(f"@localhost #{code}")

    send(ctx, "login:2", destination="+819011112222", locale="en-US")
    _, english = last_message(ctx, "+819011112222")
    code = last_code(ctx, "+819011112222")
    assert english.startswith(f"{code} is your mamori security code to log in.")
    assert "expires in 10 minutes" in english


def test_an_emailed_code_in_japanese(ctx):
    sent = send(ctx, channel="email", destination="hana@example.com", locale="ja")
    assert sent.destination == "h•••a@e•••.com"
    subject, body = last_message(ctx, "hana@example.com")
    assert subject == "mamoriのセキュリティコード"
    assert "mamoriのログイン用セキュリティコードは次のとおりです。" in body
    assert "有効期限は10分" in body
    verify(ctx, last_code(ctx, "hana@example.com"))


def test_a_code_dies_after_ten_minutes(ctx, clock):
    send(ctx, "login:early")
    early = last_code(ctx)
    send(ctx, "login:late", destination="+819033334444")
    late = last_code(ctx, "+819033334444")
    clock.advance(minutes=9, seconds=59)
    verify(ctx, early, "login:early")
    clock.advance(seconds=1)
    with pytest.raises(ChallengeExpired):
        verify(ctx, late, "login:late")


def test_a_recovery_code_by_email_lives_thirty_minutes_and_by_sms_ten(ctx, clock):
    send(ctx, "recovery:1", purpose="recovery", channel="email", destination="hana@example.com")
    emailed = last_code(ctx, "hana@example.com")
    send(ctx, "recovery:2", purpose="recovery")
    texted = last_code(ctx)
    clock.advance(minutes=29)
    verify(ctx, emailed, "recovery:1", purpose="recovery")
    with pytest.raises(ChallengeExpired):
        verify(ctx, texted, "recovery:2", purpose="recovery")


def test_five_wrong_codes_kill_the_code_and_a_resend_waits_an_hour(ctx, clock):
    sent = send(ctx)
    code = last_code(ctx)
    left = []
    for _ in range(5):
        with pytest.raises(InvalidCode) as failure:
            verify(ctx, wrong(code))
        left.append(failure.value.extra["attempts_left"])
    assert left == [4, 3, 2, 1, 0]
    with pytest.raises(ChallengeExpired):
        verify(ctx, code)  # even the right one
    clock.advance(seconds=30)
    with pytest.raises(TooManyAttempts) as resend:
        send(ctx)
    assert resend.value.retry_after_seconds == 3600 - 30
    clock.advance(hours=1)
    assert send(ctx).expires_at > sent.expires_at
    with pytest.raises(InvalidCode) as fresh:
        verify(ctx, wrong(last_code(ctx)))
    assert fresh.value.extra["attempts_left"] == 4


def test_a_resend_replaces_the_code_but_keeps_the_failures(ctx, clock):
    send(ctx)
    first = last_code(ctx)
    for _ in range(3):
        with pytest.raises(InvalidCode):
            verify(ctx, wrong(first))
    clock.advance(seconds=30)
    send(ctx)
    second = last_code(ctx)
    if second == first:  # one chance in a million: send once more
        clock.advance(seconds=30)
        send(ctx)
        second = last_code(ctx)
    with pytest.raises(InvalidCode) as old:
        verify(ctx, first)
    assert old.value.extra["attempts_left"] == 1
    verify(ctx, second)


def test_after_a_code_is_used_the_next_send_starts_afresh(ctx, clock):
    send(ctx, "enroll-sms:7", purpose="enroll_sms")
    code = last_code(ctx)
    for _ in range(4):
        with pytest.raises(InvalidCode):
            verify(ctx, wrong(code), "enroll-sms:7", "enroll_sms")
    verify(ctx, code, "enroll-sms:7", "enroll_sms")
    clock.advance(seconds=30)
    send(ctx, "enroll-sms:7", purpose="enroll_sms")
    with pytest.raises(InvalidCode) as failure:
        verify(ctx, wrong(last_code(ctx)), "enroll-sms:7", "enroll_sms")
    assert failure.value.extra["attempts_left"] == 4


def _race(ctx: Context, guesses: list[str]) -> Counter[str]:
    barrier = threading.Barrier(len(guesses))
    outcomes: Counter[str] = Counter()
    lock = threading.Lock()

    def attempt(guess: str) -> None:
        barrier.wait()
        try:
            verify(ctx, guess)
            outcome = "accepted"
        except (InvalidCode, CodeAlreadyUsed, ChallengeExpired) as error:
            outcome = error.code
        with lock:
            outcomes[outcome] += 1

    threads = [threading.Thread(target=attempt, args=(guess,)) for guess in guesses]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes


def test_twenty_requests_with_the_right_code_at_once_log_in_exactly_once(ctx):
    send(ctx)
    outcomes = _race(ctx, [last_code(ctx)] * 20)
    assert outcomes == Counter({"accepted": 1, "code_already_used": 19})
    with ctx.database.session() as db:
        events = recent_events(db, event="security_code.verified", limit=100)
        assert [e.outcome for e in events].count("success") == 1


def test_twenty_wrong_codes_at_once_get_exactly_five_tries(ctx):
    send(ctx)
    code = last_code(ctx)
    outcomes = _race(ctx, [wrong(code)] * 20)
    assert outcomes == Counter({"invalid_code": 5, "challenge_expired": 15})
    with pytest.raises(ChallengeExpired):
        verify(ctx, code)


@pytest.mark.parametrize(
    "written", ["{a}{b}", " {a} {b} ", "{a}-{b}", "{wa}{wb}", "{wa}　{wb}", "{wa}－{wb}"]
)
def test_the_code_may_be_typed_with_full_width_digits_spaces_and_hyphens(ctx, written):
    send(ctx)
    code = last_code(ctx)
    full_width = code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    verify(ctx, written.format(a=code[:3], b=code[3:], wa=full_width[:3], wb=full_width[3:]))


@pytest.mark.parametrize(
    "typed", ["12345", "1234567", "abcdef", "12\x003456", "１２３４５", "٣" * 6, ""]
)
def test_a_malformed_code_is_invalid_and_costs_no_attempt(ctx, typed):
    send(ctx)
    with pytest.raises(InvalidCode) as failure:
        verify(ctx, typed)
    assert "attempts_left" not in failure.value.extra
    with pytest.raises(InvalidCode) as counted:
        verify(ctx, wrong(last_code(ctx)))
    assert counted.value.extra["attempts_left"] == 4


def test_a_code_works_only_for_its_own_login_and_purpose(ctx, clock):
    send(ctx, "login:A")
    code_a = last_code(ctx)
    with pytest.raises(ChallengeExpired):
        verify(ctx, code_a, "login:B")
    with pytest.raises(ChallengeExpired):
        verify(ctx, code_a, "login:A", purpose="recovery")
    send(ctx, "login:B", destination="+819055556666")
    if last_code(ctx, "+819055556666") != code_a:  # equal one time in a million
        with pytest.raises(InvalidCode):
            verify(ctx, code_a, "login:B")
    verify(ctx, code_a, "login:A")


def test_a_database_dump_holds_no_code_and_no_binding(ctx):
    binding = "login:challenge-token-Zq8vYw"
    with sms_provider() as provider:
        production = configured(ctx, env="production", **provider_settings(provider))
        send(production, binding)
        [texted] = provider.bodies_to(PHONE)
    code = re.search(r"\b(\d{6})\b", texted)
    assert code
    dump = []
    with ctx.database.engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            for row in connection.execute(select(table)):
                dump.append(repr(tuple(row)))
    everything = "\n".join(dump)
    assert "security_code.sent" in everything  # the dump is not empty
    assert code.group(1) not in everything
    assert "Zq8vYw" not in everything
    assert "••••••" in everything  # the outbox copy of the text has the code blanked


def test_resends_wait_thirty_seconds_then_stop_after_five_an_hour(ctx, clock):
    send(ctx)
    with pytest.raises(TooManyAttempts) as early:
        send(ctx)
    assert early.value.retry_after_seconds == 30
    for _ in range(4):
        clock.advance(seconds=30)
        send(ctx)
    clock.advance(seconds=30)
    with pytest.raises(TooManyAttempts) as quota:
        send(ctx)
    assert quota.value.retry_after_seconds > 30 * 60
    with ctx.database.session() as db:
        refused = recent_events(db, event="security_code.send_refused")
        assert [e.details["reason"] for e in refused] == ["throttled", "throttled"]


@pytest.fixture(params=["database", "redis"])
def counters(request: pytest.FixtureRequest, ctx: Context, clock: MovableClock) -> Context:
    if request.param == "database":
        return ctx
    return dataclasses.replace(ctx, throttle=Throttle(redis_counters(clock), clock))


def test_one_number_gets_a_few_codes_an_hour_whoever_asks(counters):
    ctx = configured(counters, security_code_sends_per_destination_hour=3)
    for n in range(3):
        send(ctx, f"login:{n}", origin=Origin(ip=f"192.0.2.{n}"))
    with pytest.raises(TooManyAttempts):
        send(ctx, "login:3", origin=Origin(ip="192.0.2.3"))
    send(ctx, "login:4", destination="+819099998888")


def test_one_address_can_ask_for_only_so_many_codes(counters):
    ctx = configured(counters, security_code_sends_per_ip_hour=3)
    for n in range(3):
        send(ctx, f"login:{n}", destination=f"+81901234000{n}")
    with pytest.raises(TooManyAttempts):
        send(ctx, "login:3", destination="+819012340003")
    send(ctx, "login:4", destination="+819012340004", origin=Origin(ip="192.0.2.99"))


def test_all_text_messages_together_have_an_hourly_cap_against_sms_pumping(counters, clock):
    ctx = configured(counters, sms_sends_per_hour=2)
    send(ctx, "login:1", destination="+819012340001", origin=Origin(ip="192.0.2.1"))
    send(ctx, "login:2", destination="+819012340002", origin=Origin(ip="192.0.2.2"))
    with pytest.raises(TooManyAttempts) as capped:
        send(ctx, "login:3", destination="+819012340003", origin=Origin(ip="192.0.2.3"))
    assert capped.value.retry_after_seconds > 0
    send(ctx, "login:4", channel="email", destination="hana@example.com")  # e-mail is free
    clock.advance(hours=1, seconds=1)
    send(ctx, "login:3", destination="+819012340003", origin=Origin(ip="192.0.2.3"))


def test_a_throttled_send_answers_429_with_retry_after(ctx):
    app = FastAPI()
    install_error_handlers(app, unauthenticated_api_request)

    @app.post("/send")
    def send_code() -> None:
        send(ctx)

    with TestClient(app) as client:
        assert client.post("/send").status_code == 200
        answer = client.post("/send")
    assert answer.status_code == 429
    assert answer.headers["Retry-After"] == "30"
    assert answer.json()["code"] == "too_many_attempts"


def test_a_failed_resend_leaves_the_earlier_code_working(ctx, clock):
    with sms_provider() as provider:
        texting = configured(ctx, **provider_settings(provider))
        send(texting)
        [first] = provider.bodies_to(PHONE)
        provider.mode = "error"
        clock.advance(seconds=30)
        with pytest.raises(DeliveryFailed):
            send(texting)
    code = re.search(r"\b(\d{6})\b", first)
    assert code
    verify(ctx, code.group(1))
    with ctx.database.session() as db:
        [refused] = recent_events(db, event="security_code.send_refused")
        assert refused.details["reason"] == "delivery_failed"


def test_sending_and_checking_are_audited_without_the_code(ctx):
    send(ctx)
    code = last_code(ctx)
    with pytest.raises(InvalidCode):
        verify(ctx, wrong(code))
    verify(ctx, code)
    with ctx.database.session() as db:
        events = list(reversed(recent_events(db)))
    summary = [(e.event, e.outcome, e.details.get("reason")) for e in events]
    assert summary == [
        ("security_code.sent", "success", None),
        ("security_code.verified", "failure", "wrong_code"),
        ("security_code.verified", "success", None),
    ]
    assert events[0].details["destination"] == "+81 •• •••• ••78"
    assert events[0].ip == "198.51.100.7"
    assert all(code not in repr(e.details) for e in events)


@pytest.mark.parametrize(
    ("channel", "destination", "masked"),
    [
        ("email", "hello@example.com", "h•••o@e•••.com"),
        ("email", "ab@mail.example.co.jp", "a•••@m•••.jp"),
        ("sms", "+819012345678", "+81 •• •••• ••78"),
        ("sms", "+16502530000", "+1 ••• ••• ••00"),
        ("sms", "+447911123456", "+44 •••• ••••56"),
    ],
)
def test_destinations_are_masked_for_pages(channel, destination, masked):
    assert mask_destination(channel, destination) == masked


@pytest.mark.parametrize(
    ("channel", "destination", "error"),
    [
        ("sms", "090-1234-5678", InvalidPhone),
        ("sms", "+81\x0090", InvalidPhone),
        ("email", "not-an-address", InvalidEmail),
        ("email", "hana@exa\x00mple.com", InvalidEmail),
    ],
)
def test_a_destination_in_the_wrong_form_is_refused_before_anything_is_sent(
    ctx, channel, destination, error
):
    with pytest.raises(error):
        send(ctx, channel=channel, destination=destination)
    with ctx.database.session() as db:
        assert outbox(db) == []
        assert db.execute(text("SELECT count(*) FROM security_codes")).scalar_one() == 0
