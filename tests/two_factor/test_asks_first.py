"""Issue 12: what removes protection asks first and says what happened; backup codes never
run out in silence; the first codes survive a reload and a language switch."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.context import Context
from tests.backup_codes.helpers import spend
from tests.two_factor.test_pages import TWO_FACTOR, csrf, turn_on_app, web_sign_up

CODES = f"{TWO_FACTOR}/backup-codes"


def _user_id(ctx: Context, username: str = "hana") -> int:
    with ctx.database.session() as db:
        return int(db.scalars(select(User.id).where(User.username == username)).one())


def _methods_page(client: TestClient) -> str:
    return str(client.get(TWO_FACTOR).text)


def test_turning_two_factor_off_asks_first_then_says_it_is_off(client, clock):
    web_sign_up(client)
    turn_on_app(client, clock)
    overview = _methods_page(client)
    # The overview offers a way to the question, not a form that acts at once.
    assert 'action="/accounts/center/password-and-security/two-factor/off"' not in overview
    asked = client.get(f"{TWO_FACTOR}/off")
    assert asked.status_code == 200
    assert "Logins will need only your password" in asked.text
    assert "Your backup codes stop working" in asked.text
    assert 'class="danger"' in asked.text and "Cancel" in asked.text
    assert "Two-factor authentication is on." in _methods_page(client)  # asking changed nothing

    done = client.post(f"{TWO_FACTOR}/off", data={"csrf_token": csrf(asked.text)})
    assert done.status_code == 200
    assert 'class="alert success"' in done.text
    assert "Two-factor authentication is off. Logins now need only your password" in done.text


def test_removing_the_only_method_says_it_turns_two_factor_off(client, clock):
    web_sign_up(client)
    turn_on_app(client, clock)
    asked = client.get(f"{TWO_FACTOR}/remove", params={"method": "totp"})
    assert "Remove Authentication app?" in asked.text
    assert "removing it turns two-factor authentication off" in asked.text
    assert 'name="method" value="totp"' in asked.text
    done = client.post(
        f"{TWO_FACTOR}/remove", data={"csrf_token": csrf(asked.text), "method": "totp"}
    )
    assert "Two-factor authentication is off." in done.text
    assert "Choose your security method" in done.text


def test_an_unknown_method_to_remove_goes_back_to_the_list(client, clock):
    web_sign_up(client)
    turn_on_app(client, clock)
    page = client.get(f"{TWO_FACTOR}/remove", params={"method": "carrier-pigeon"})
    assert page.url.path == TWO_FACTOR
    assert "Two-factor authentication is on." in page.text


def test_the_first_codes_are_a_page_that_survives_a_reload_and_a_language_switch(client, clock):
    web_sign_up(client)
    _secret, codes = turn_on_app(client, clock)
    shown = client.get(f"{TWO_FACTOR}/on")
    assert "Two-factor authentication is on" in shown.text
    assert sorted(set(re.findall(r"\b(\d{4} \d{4})\b", shown.text))) == codes
    client.cookies.set("mamori_lang", "ja")
    japanese = client.get(f"{TWO_FACTOR}/on")
    assert "二段階認証がオンになりました" in japanese.text
    assert sorted(set(re.findall(r"\b(\d{4} \d{4})\b", japanese.text))) == codes
    assert "紙に書いて保管してください" in japanese.text
    assert "スクリーンショット" in japanese.text


def test_the_first_display_of_codes_carries_the_safe_keeping_advice(client, clock):
    web_sign_up(client)
    _secret, _codes = turn_on_app(client, clock)
    page = client.get(f"{TWO_FACTOR}/on")
    assert "Write these codes on paper" in page.text
    assert "screenshot, a photo or a note in the cloud" in page.text


def test_two_or_fewer_backup_codes_left_shows_a_warning_with_get_new_codes(client, clock, ctx):
    web_sign_up(client)
    _secret, codes = turn_on_app(client, clock)
    user_id = _user_id(ctx)
    for code in codes[:7]:
        spend(ctx, user_id, code)
    assert 'class="alert warning"' not in _methods_page(client)  # 3 left: no warning yet
    spend(ctx, user_id, codes[7])
    page = _methods_page(client)
    assert 'id="backup-codes-low"' in page
    assert 'class="alert warning"' in page
    assert "Only 2 backup codes are left." in page
    assert f'href="{CODES}/new"' in page
    # Accounts Center and Password and security say it too, where the person looks first.
    for other in ("/accounts/center", "/accounts/center/password-and-security"):
        assert "Only 2 backup codes are left." in client.get(other).text, other
    for code in codes[8:]:
        spend(ctx, user_id, code)
    page = _methods_page(client)
    assert "You have used all your backup codes." in page
    assert "You have used all your backup codes." in client.get(CODES).text


def test_getting_new_codes_asks_first_then_shows_them_with_the_advice(client, clock):
    web_sign_up(client)
    _secret, old = turn_on_app(client, clock)
    codes_page = client.get(CODES)
    assert 'action="/accounts/center/password-and-security/two-factor/backup-codes/new"' not in (
        codes_page.text
    )
    assert "Write these codes on paper" in codes_page.text
    asked = client.get(f"{CODES}/new")
    assert "Your current backup codes will stop working right away" in asked.text
    assert 'class="danger"' in asked.text and "Cancel" in asked.text
    assert sorted(set(re.findall(r"\b(\d{4} \d{4})\b", client.get(CODES).text))) == old
    made = client.post(f"{CODES}/new", data={"csrf_token": csrf(asked.text), "confirm": "yes"})
    assert 'class="alert success"' in made.text
    assert "Your old backup codes no longer work." in made.text
    assert "screenshot, a photo or a note in the cloud" in made.text
    new = sorted(set(re.findall(r"\b(\d{4} \d{4})\b", made.text)))
    assert len(new) == 10 and not set(new) & set(old)


def test_the_downloaded_codes_are_in_japanese_and_in_the_persons_time_zone(client, clock, ctx):
    web_sign_up(client)
    turn_on_app(client, clock)
    with ctx.database.session() as db:
        user = db.get(User, _user_id(ctx))
        assert user is not None
        user.time_zone = "Asia/Tokyo"
    client.cookies.set("mamori_lang", "ja")
    text = client.get(f"{CODES}.txt").text
    assert "mamoriのバックアップコード" in text
    assert "(日本時間)" in text
    english_words = re.findall(r"[A-Za-z]{3,}", text.replace("mamori", "").replace("hana", ""))
    assert english_words == []
