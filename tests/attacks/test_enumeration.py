"""No account enumeration, against a real server: login, sign-up and "Can't log in?"
answer a known and an unknown account with the same status, body shape, headers and
cookies, and in median times within 10% of each other (issue 7; ASVS 6.3.8).

Usernames are the exception by design: a username is a public handle, so sign-up must
say when one is taken (409), and a recovery named by username offers that account's
masked addresses. E-mail addresses and phone numbers never tell.
"""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.attacks.conftest import EMAIL, PHONE
from tests.attacks.timing import Timing, compare
from tests.conftest import PASSWORD

WRONG = "not the right password at all"
# Values that differ on every answer (ids, secrets, times): only their type must match.
VARYING = {"id", "recovery", "expires_at", "resend_at", "username"}
# Headers a client or an observer could tell apart.
HEADERS = ("content-type", "cache-control", "retry-after", "www-authenticate", "location")


def shape(value: Any, key: str = "") -> Any:
    """What an answer reveals, with per-answer values reduced to their type."""
    if isinstance(value, dict):
        return {k: shape(v, k) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [shape(v) for v in value]
    return type(value).__name__ if key in VARYING else value


def answer(response: httpx.Response) -> dict[str, Any]:
    cookies = sorted(header.split("=", 1)[0] for header in response.headers.get_list("set-cookie"))
    return {
        "status": response.status_code,
        "headers": {name: response.headers.get(name) for name in HEADERS},
        "cookies": cookies,
        "body": shape(response.json()),
    }


def assert_alike(timing: Timing) -> None:
    seen = {repr(answer(r)) for r in timing.known_answers + timing.unknown_answers}
    assert len(seen) == 1, f"{timing.name}: answers differ: {seen}"
    assert timing.alike, f"{timing.report()}: one kind slower by over 10% in every round"


def test_login_with_a_known_or_an_unknown_e_mail_answers_alike(api: httpx.Client) -> None:
    def log_in(login: str):
        return lambda _: api.post("/api/v1/login", json={"login": login, "password": WRONG})

    timing = compare("login", log_in(EMAIL), log_in("nobody@example.com"))

    assert_alike(timing)
    assert timing.known_answers[0].status_code == 401
    assert timing.known_answers[0].json()["code"] == "invalid_credentials"


def test_login_by_username_or_phone_answers_like_an_unknown_one(api: httpx.Client) -> None:
    pairs = [("hana", "nobody"), (PHONE, "090-9999-0000"), ("+81 90 1234 5678", "+81 90 9999 0000")]
    for known, unknown in pairs:
        answers = [
            api.post("/api/v1/login", json={"login": login, "password": WRONG})
            for login in (known, unknown)
        ]
        assert answer(answers[0]) == answer(answers[1]), (known, unknown)
        assert answers[0].status_code == 401


def test_sign_up_with_a_registered_e_mail_and_phone_answers_like_a_new_one(
    api: httpx.Client,
) -> None:
    def sign_up(email: str, phone: str, prefix: str):
        def send(i: int) -> httpx.Response:
            return api.post(
                "/api/v1/accounts",
                json={
                    "username": f"{prefix}{i}",
                    "password": PASSWORD,
                    "email": email.format(i=i),
                    "phone": phone.format(i=i),
                },
            )

        return send

    timing = compare(
        "sign-up",
        sign_up(EMAIL, PHONE, "taken"),
        sign_up("new{i}@example.com", "080-5555-{i:04d}", "fresh"),
    )

    assert_alike(timing)
    assert {r.status_code for r in timing.known_answers} == {201}


def test_sign_up_with_only_a_registered_e_mail_or_only_a_phone_answers_alike(
    api: httpx.Client,
) -> None:
    fields = [
        ({"email": "HANA@example.com"}, {"email": "hina@example.com"}),
        ({"phone": "+81 90 1234 5678"}, {"phone": "090-7777-0000"}),
    ]
    for number, (known, unknown) in enumerate(fields):
        answers = [
            api.post(
                "/api/v1/accounts",
                json={"username": f"{kind}only{number}", "password": PASSWORD, **extra},
            )
            for kind, extra in (("known", known), ("unknown", unknown))
        ]
        assert answer(answers[0]) == answer(answers[1]), known
        assert answers[0].status_code == 201


def test_a_taken_username_is_said_plainly_since_usernames_are_public(api: httpx.Client) -> None:
    taken = api.post("/api/v1/accounts", json={"username": "HANA", "password": PASSWORD})
    assert taken.status_code == 409
    assert taken.json()["code"] == "username_taken"


def test_recovery_started_with_a_known_or_an_unknown_address_answers_alike(
    api: httpx.Client,
) -> None:
    def start(login: str):
        return lambda _: api.post("/api/v1/recovery", json={"login": login})

    by_email = compare("recovery start, e-mail", start(EMAIL), start("hina@example.com"))
    by_phone = compare("recovery start, phone", start(PHONE), start("090-5555-1178"))

    for timing in (by_email, by_phone):
        assert_alike(timing)
        assert timing.known_answers[0].status_code == 202
    # The masked address is made from what was typed, so it matches for the same mask.
    assert by_email.known_answers[0].json()["options"] == [
        {"option": "email", "destination": "h•••a@e•••.com"}
    ]


def test_the_recovery_code_send_step_answers_alike(api: httpx.Client) -> None:
    """A real send (confirmed address) and a withheld one (unknown address)."""

    def send(login: str, option: str):
        def step(_: int) -> httpx.Response:
            started = api.post("/api/v1/recovery", json={"login": login})
            recovery = started.json()["recovery"]
            return api.post(f"/api/v1/recovery/{recovery}/send", json={"option": option})

        return step

    by_email = compare(
        "recovery send, e-mail", send(EMAIL, "email"), send("hina@example.com", "email")
    )
    assert newest_recipients(api) == {EMAIL}  # real codes went out, withheld ones did not
    by_phone = compare("recovery send, text", send(PHONE, "sms"), send("090-5555-1178", "sms"))
    assert newest_recipients(api) == {"+819012345678"}

    for timing in (by_email, by_phone):
        assert_alike(timing)
        assert timing.known_answers[0].status_code == 202


def newest_recipients(api: httpx.Client) -> set[str]:
    return {m["to"] for m in api.get("/dev/outbox").json()[:20]}


# --- the same over the pages a browser uses --------------------------------------------

CSRF_VALUE = re.compile(r'(name="csrf_token" value=")[^"]+')


def browser_post(api: httpx.Client, page: str, fields: dict[str, str]) -> httpx.Response:
    """A new browser: open the page (its CSRF cookie and field), then send the form."""
    with httpx.Client(base_url=str(api.base_url), timeout=30) as browser:
        form = browser.get(page)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token, page
        return browser.post(page, data={"csrf_token": token.group(1), **fields})


def page_answer(response: httpx.Response, typed: str) -> dict[str, Any]:
    """What a person or a script sees: status, headers, cookie names and the page with
    its one-off values (CSRF token) and what was typed back into the form taken out."""
    cookies = sorted(h.split("=", 1)[0] for h in response.headers.get_list("set-cookie"))
    text = CSRF_VALUE.sub(r"\1…", response.text).replace(typed, "…")
    return {
        "status": response.status_code,
        "headers": {name: response.headers.get(name) for name in HEADERS},
        "cookies": cookies,
        "page": text,
    }


def test_the_login_sign_up_and_recovery_pages_answer_alike(api: httpx.Client) -> None:
    for known, unknown in ((EMAIL, "hina@example.com"), ("hana", "hina")):
        answers = [
            browser_post(api, "/login", {"login": login, "password": WRONG})
            for login in (known, unknown)
        ]
        assert page_answer(answers[0], known) == page_answer(answers[1], unknown)
        assert answers[0].status_code == 401

    signed_up = [
        browser_post(
            api,
            "/signup",
            {"username": f"web{kind}", "password": PASSWORD, "email": email, "phone": phone},
        )
        for kind, email, phone in (
            ("known", EMAIL, PHONE),
            ("unknown", "web@example.com", "080-4444-0000"),
        )
    ]
    assert page_answer(signed_up[0], "") == page_answer(signed_up[1], "")
    assert signed_up[0].status_code == 303

    started = [
        browser_post(api, "/recovery", {"login": login}) for login in (EMAIL, "hina@example.com")
    ]
    assert page_answer(started[0], "") == page_answer(started[1], "")
    assert started[0].status_code == 303


# --- trusted contacts (issue 16, finding 7) ----------------------------------------------


def owner_with_trusted_contacts(api: httpx.Client) -> None:
    """emi chose ken, aiko and yuki; mallory has an account but is nobody's contact."""
    for name in ("emi", "ken", "aiko", "yuki", "mallory"):
        created = api.post(
            "/api/v1/accounts",
            json={"username": name, "password": PASSWORD, "email": f"{name}@example.com"},
        )
        assert created.status_code == 201, created.text
    token = api.post("/api/v1/login", json={"login": "emi", "password": PASSWORD}).json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    again = api.post("/api/v1/me/reauthenticate", headers=headers, json={"password": PASSWORD})
    assert again.status_code == 204, again.text
    chosen = api.put(
        "/api/v1/me/trusted-contacts", headers=headers, json={"usernames": ["ken", "aiko", "yuki"]}
    )
    assert chosen.status_code == 200, chosen.text


def test_asking_a_real_trusted_contact_or_someone_else_answers_alike(api: httpx.Client) -> None:
    """Naming a username in "Can't log in?" must not tell, by the answer or its time,
    whether that person is one of the account's trusted contacts."""
    owner_with_trusted_contacts(api)

    def ask(name: str):
        def step(_: int) -> httpx.Response:
            recovery = api.post("/api/v1/recovery", json={"login": "emi"}).json()["recovery"]
            return api.post(
                f"/api/v1/recovery/{recovery}/trusted-contacts", json={"usernames": [name]}
            )

        return step

    ask("ken")(0), ask("mallory")(0)
    # ken really was asked (his request went out), mallory never was.
    mailed = {(m["to"], m["subject"]) for m in api.get("/dev/outbox").json()[:5]}
    assert ("ken@example.com", "emi needs your help to log in") in mailed
    assert not any(to == "mallory@example.com" for to, _ in mailed)

    timing = compare("trusted contacts asked", ask("ken"), ask("mallory"))

    assert_alike(timing)
    assert timing.known_answers[0].status_code == 202
