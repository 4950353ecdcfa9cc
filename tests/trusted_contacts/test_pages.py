"""The trusted-contact pages, as a browser without JavaScript uses them: forms with their
CSRF token, in English and Japanese."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from mamori.trusted_contacts.models import TrustedContact
from tests.conftest import PASSWORD
from tests.core.helpers import app_client, count, csrf_from, shown, web_log_in
from tests.trusted_contacts.helpers import (
    PAGE,
    ask,
    choose,
    code_from,
    my_requests,
    people,
    start_recovery,
    subjects_to,
)

CHOOSE = f"{PAGE}/choose"
RECOVERY = "/recovery/trusted-contacts"
LANGUAGES = {"en": "en", "ja": "ja"}


@contextmanager
def browser(ctx, name: str | None = None, lang: str = "en") -> Iterator[TestClient]:
    """A browser of its own (its own cookies), logged in as `name` when given."""
    with app_client(ctx) as client:
        client.headers["Accept-Language"] = lang
        if name is not None:
            answer = web_log_in(client, name, PASSWORD)
            assert answer.status_code == 303, answer.text
        yield client


def post_form(client: TestClient, page: str, action: str, **fields: object):
    token = csrf_from(client.get(page))
    return client.post(action, data={"csrf_token": token, **fields}, follow_redirects=False)


@pytest.fixture
def team(client):
    """hana, her three contacts and an outsider, with API tokens."""
    return people(client, "hana", "ken", "aiko", "yuki", "mallory")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_choose_contacts_from_password_and_security(client, ctx, team, lang):
    with browser(ctx, "hana", lang) as hana:
        overview = hana.get("/accounts/center/password-and-security")
        assert f'href="{PAGE}"' in overview.text
        assert ("信頼できる連絡先" if lang == "ja" else "Trusted contacts") in overview.text
        page = hana.get(PAGE)
        assert page.status_code == 200
        assert f'href="{CHOOSE}"' in page.text

        form = hana.get(CHOOSE)
        assert form.status_code == 200
        assert form.text.count('name="username"') == 5
        saved = post_form(hana, CHOOSE, CHOOSE, username=["ken", "aiko", "yuki", "", ""])

    assert saved.status_code == 200, saved.text
    assert ("保存しました" if lang == "ja" else "Saved.") in shown(saved)
    assert re.search(r"<strong>ken</strong>", saved.text)
    assert count(ctx, TrustedContact) == 3
    assert "hana chose you as a trusted contact" in subjects_to(client, "ken")


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_mistake_is_shown_on_the_form_with_what_was_typed(ctx, team, lang):
    with browser(ctx, "hana", lang) as hana:
        answer = post_form(hana, CHOOSE, CHOOSE, username=["ken", "aiko", "Hana"])

    assert answer.status_code == 422
    text = shown(answer)
    expected = (
        "自分自身を信頼できる連絡先" if lang == "ja" else "You can't be your own trusted contact"
    )
    assert expected in text and "(Hana)" in text
    assert 'role="alert"' in answer.text
    assert 'value="aiko"' in answer.text
    assert count(ctx, TrustedContact) == 0


def test_choosing_on_the_page_asks_to_confirm_its_you_after_ten_minutes(ctx, clock, team):
    with browser(ctx, "hana") as hana:
        token = csrf_from(hana.get(PAGE))
        clock.advance(minutes=11)
        form = hana.get(CHOOSE, follow_redirects=False)
        posted = hana.post(
            CHOOSE,
            data={"csrf_token": token, "username": ["ken", "aiko", "yuki"]},
            follow_redirects=False,
        )
        removed = hana.post(
            f"{PAGE}/remove", data={"csrf_token": token, "username": "ken"}, follow_redirects=False
        )

    for answer in (form, posted, removed):
        assert answer.status_code == 303
        assert answer.headers["location"].startswith("/reauthenticate?next=")
    assert count(ctx, TrustedContact) == 0


def test_every_form_needs_its_csrf_token(client, ctx, team):
    choose(client, team["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    (request,) = my_requests(client, team["ken"])
    with browser(ctx, "ken") as ken:
        ken.cookies.set("mamori_recovery", token)
        for action, fields in (
            (CHOOSE, {"username": ["aiko", "yuki", "mallory"]}),
            (f"{PAGE}/remove", {"username": "aiko"}),
            (f"{PAGE}/decline", {"username": "hana"}),
            (f"/trusted-contacts/requests/{request['id']}/code", {}),
            (f"/trusted-contacts/requests/{request['id']}/refuse", {}),
            (RECOVERY, {"username": ["ken"]}),
            (f"{RECOVERY}/codes", {"code": "1234 5678"}),
        ):
            answer = ken.post(action, data=fields, follow_redirects=False)
            assert answer.status_code == 403, action
            assert "This form expired" in answer.text
    assert my_requests(client, team["ken"])[0]["state"] == "waiting"
    assert client.get("/api/v1/me/trusted-contact-of", headers=team["ken"]).json()["chosen_by"]


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_contact_opens_the_request_and_gets_the_code_to_read_out(client, ctx, team, lang):
    choose(client, team["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    (request,) = my_requests(client, team["ken"])
    path = f"/trusted-contacts/requests/{request['id']}"

    with browser(ctx, "ken", lang) as ken:
        listed = ken.get(PAGE)
        assert f'href="{path}"' in listed.text
        page = ken.get(path)
        assert page.status_code == 200
        text = shown(page)
        assert "hana" in text
        warning = (
            "このコードは必ずご本人にだけ、声で伝えてください"
            if lang == "ja"
            else "Only give this code by voice to the person themself; mamori will never ask "
            "you for it."
        )
        assert warning in text
        assert not re.search(r"\d{4} \d{4}", text)  # no code before the contact confirms
        given = post_form(ken, path, f"{path}/code")

    assert given.status_code == 200
    assert given.headers["cache-control"] == "no-store"
    code = re.search(r'<code id="contact-code" class="key">(\d{4} \d{4})</code>', given.text)
    assert code, given.text
    answer = client.post(
        f"/api/v1/recovery/{token}/trusted-contacts/codes", json={"code": code.group(1)}
    )
    assert answer.json()["vouches"] == 1


def test_this_isnt_them_on_the_page(client, ctx, team):
    choose(client, team["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    (request,) = my_requests(client, team["ken"])
    path = f"/trusted-contacts/requests/{request['id']}"

    with browser(ctx, "ken") as ken:
        refused = post_form(ken, path, f"{path}/refuse")

    assert refused.status_code == 200
    assert "No code was given" in shown(refused)
    assert "This isn't them" not in shown(refused)  # nothing left to press
    assert "ken doubted a recovery of your account" in subjects_to(client, "hana")


def test_a_request_page_is_only_for_its_contact(client, ctx, team):
    choose(client, team["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    ask(client, token, "ken")
    (request,) = my_requests(client, team["ken"])
    path = f"/trusted-contacts/requests/{request['id']}"

    with browser(ctx) as nobody:
        to_login = nobody.get(path, follow_redirects=False)
        assert to_login.status_code == 303
        assert to_login.headers["location"].startswith("/login?next=")
    for outsider in ("aiko", "mallory"):
        with browser(ctx, outsider) as other:
            page = other.get(path)
            assert page.status_code == 404
            assert "No such request for help" in shown(page)
            assert post_form(other, PAGE, f"{path}/code").status_code == 404


def test_a_contact_declines_on_the_page(client, ctx, team):
    choose(client, team["hana"], "ken", "aiko", "yuki")
    with browser(ctx, "ken") as ken:
        page = ken.get(PAGE)
        assert "<strong>hana</strong>" in page.text
        declined = post_form(ken, PAGE, f"{PAGE}/decline", username="hana")

    assert declined.status_code == 200
    assert "You declined. hana was told." in shown(declined)
    assert "ken declined to be your trusted contact" in subjects_to(client, "hana")
    listed = client.get("/api/v1/me/trusted-contacts", headers=team["hana"]).json()
    assert listed["active"] == 2


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_person_recovering_asks_and_enters_three_codes_on_the_page(client, ctx, team, lang):
    choose(client, team["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    with browser(ctx, lang=lang) as person:
        person.cookies.set("mamori_recovery", token)
        page = person.get(RECOVERY)
        assert page.status_code == 200
        assert page.text.count('name="username"') == 5
        assert 'inputmode="numeric" autocomplete="one-time-code"' in page.text
        # Contacts are never listed to the person recovering.
        assert not re.search(r"\b(ken|aiko|yuki)\b", page.text)
        asked = post_form(person, RECOVERY, RECOVERY, username=["ken", "aiko", "yuki", "", ""])
        assert asked.status_code == 200
        assert ("協力を依頼しました" if lang == "ja" else "we asked them for help") in shown(asked)

        wrong = post_form(person, RECOVERY, f"{RECOVERY}/codes", code="0000 0000")
        assert wrong.status_code == 400
        assert 'role="alert"' in wrong.text

        answers = []
        for contact in ("ken", "aiko", "yuki"):
            code = code_from(client, team[contact])
            answers.append(post_form(person, RECOVERY, f"{RECOVERY}/codes", code=code))

    assert [a.status_code for a in answers] == [200, 200, 200]
    done = shown(answers[-1])
    assert ("ご本人であることを確認しました" if lang == "ja" else "confirmed it's you") in done
    assert 'href="/recovery/next"' in answers[-1].text


def test_the_recovery_page_without_a_recovery_says_start_again(ctx):
    with browser(ctx) as person:
        page = person.get(RECOVERY)
        person.cookies.set("mamori_recovery", "x" * 500)
        odd = person.get(RECOVERY)
    for answer in (page, odd):
        assert answer.status_code == 410
        assert "This recovery expired. Start again." in shown(answer)
        assert 'href="/recovery"' in answer.text


def test_hostile_form_fields_store_nothing(client, ctx, team):
    with browser(ctx, "hana") as hana:
        for names in (["ken", "aiko", "yu\x00ki"], ["ken", "aiko", "\u202eyuki"], ["x" * 65] * 3):
            answer = post_form(hana, CHOOSE, CHOOSE, username=names)
            assert answer.status_code == 422, answer.text
        assert post_form(hana, PAGE, f"{PAGE}/decline", username="\x00").status_code == 404
    assert count(ctx, TrustedContact) == 0

    choose(client, team["hana"], "ken", "aiko", "yuki")
    token = start_recovery(ctx, "hana")
    with browser(ctx) as person:
        person.cookies.set("mamori_recovery", token)
        asked = post_form(person, RECOVERY, RECOVERY, username=["ke\x00n", "ｋｅｎ\u200b"])
        assert asked.status_code == 200
        for code in ("1234\x005678", "١٢٣٤٥٦٧٨", "9" * 64):
            assert post_form(person, RECOVERY, f"{RECOVERY}/codes", code=code).status_code == 400
    assert my_requests(client, team["ken"]) == []


def test_the_settings_pages_need_a_login(ctx):
    with browser(ctx) as nobody:
        for path in (PAGE, CHOOSE):
            answer = nobody.get(path, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next={path}"
