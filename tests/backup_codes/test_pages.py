"""The Backup codes page in Accounts Center: view, download, print, get new codes."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from mamori.core.errors import InvalidCode
from tests.backup_codes.helpers import PAGE, in_mode, make_codes, spend, subjects, web_login
from tests.conftest import bearer, log_in, sign_up


@pytest.fixture
def hana(client, ctx):
    """A logged-in browser whose account has a set of backup codes: (csrf token, codes)."""
    account = sign_up(client, "hana", email="hana@example.com")
    codes = make_codes(client.app.state.ctx, account["id"])
    csrf = web_login(client, log_in(client, "hana"))
    return csrf, codes


def test_the_page_shows_the_grid_used_codes_struck_through_with_the_date(client, ctx, hana):
    _, codes = hana
    spend(ctx, 1, codes[0])
    page = client.get(PAGE)
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert all(code in page.text for code in codes)
    assert f'<del><span class="code">{codes[0]}</span></del>' in page.text
    assert "Used Jan 1, 2026" in page.text  # in words, not by colour alone
    assert "9 of 10 codes left" in page.text
    assert 'data-copy="backup-codes-text"' in page.text
    copied = re.search(r'<pre id="backup-codes-text" hidden>(.*?)</pre>', page.text, re.S)
    assert copied and copied.group(1).split("\n") == codes[1:]
    assert f'href="{PAGE}.txt"' in page.text and f'href="{PAGE}/print"' in page.text
    assert "Your backup codes were viewed" in subjects(ctx, "hana@example.com")


def test_without_a_recent_reauthentication_the_page_asks_for_the_password(client, clock, hana):
    clock.advance(minutes=11)
    for path in (PAGE, f"{PAGE}.txt", f"{PAGE}/print"):
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert unquote(response.headers["location"]) == f"/reauthenticate?next={path}"
        assert hana[1][0] not in response.text


def test_logged_out_visitors_go_to_the_login_page(client, ctx):
    response = client.get(PAGE, follow_redirects=False)
    assert response.status_code == 303
    assert unquote(response.headers["location"]) == f"/login?next={PAGE}"


def test_download_is_a_text_file_with_account_and_date(client, hana):
    _, codes = hana
    response = client.get(f"{PAGE}.txt")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-disposition"] == (
        'attachment; filename="mamori-backup-codes-hana-2026-01-01.txt"'
    )
    assert "Account: hana" in response.text
    assert "Made on: Jan 1, 2026" in response.text
    assert all(code in response.text for code in codes)


def test_print_page_has_codes_account_date_and_a_line_for_where_it_is_kept(client, hana):
    _, codes = hana
    page = client.get(f"{PAGE}/print")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert all(code in page.text for code in codes)
    assert "<dd>hana</dd>" in page.text
    assert "Jan 1, 2026" in page.text
    assert "Where I keep this sheet:" in page.text


def test_get_new_codes_asks_first_then_replaces_the_set(client, ctx, hana):
    csrf, old = hana
    asked = client.post(f"{PAGE}/new", data={"csrf_token": csrf})
    assert asked.status_code == 200
    assert "Your current backup codes will stop working right away" in asked.text
    assert 'name="confirm" value="yes"' in asked.text
    assert all(code not in asked.text for code in old)
    assert f'<span class="code">{old[0]}</span>' in client.get(PAGE).text  # not yet replaced

    done = client.post(f"{PAGE}/new", data={"csrf_token": csrf, "confirm": "yes"})
    assert done.status_code == 200
    assert done.headers["cache-control"] == "no-store"
    new = re.findall(r'<span class="code">(\d{4} \d{4})</span>', done.text)
    assert len(new) == 10 and new != old
    assert "Your old backup codes no longer work." in done.text
    assert "data:text/plain;charset=utf-8," in done.text  # download works without a round trip
    assert "You got new backup codes" in subjects(ctx, "hana@example.com")
    with pytest.raises(InvalidCode):
        spend(ctx, 1, old[1])
    assert spend(ctx, 1, new[1]) == 9


def test_get_new_codes_without_reauthentication_changes_nothing(client, ctx, clock, hana):
    csrf, old = hana
    clock.advance(minutes=11)
    response = client.post(
        f"{PAGE}/new", data={"csrf_token": csrf, "confirm": "yes"}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"].startswith("/reauthenticate?next=")
    assert spend(ctx, 1, old[0]) == 9


def test_get_new_codes_needs_the_forms_csrf_token(client, ctx, hana):
    _, old = hana
    for data in ({"confirm": "yes"}, {"confirm": "yes", "csrf_token": "x" * 43}):
        refused = client.post(f"{PAGE}/new", data=data)
        assert refused.status_code == 403
        assert "This form expired" in refused.text
    assert spend(ctx, 1, old[0]) == 9


@pytest.mark.parametrize("confirm", ["\x00", "yes\x00", "y" * 5000, "ＹＥＳ", "<script>"], ids=repr)
def test_hostile_form_input_is_a_4xx_or_just_the_question(client, ctx, hana, confirm):
    csrf, old = hana
    response = client.post(f"{PAGE}/new", data={"csrf_token": csrf, "confirm": confirm})
    assert response.status_code in (200, 422)
    assert "<script>" not in response.text
    assert spend(ctx, 1, old[0]) == 9  # none of it replaced the set


def test_an_account_without_codes_is_sent_to_two_factor(client, ctx):
    sign_up(client, "ken")
    web_login(client, log_in(client, "ken"))
    page = client.get(PAGE)
    assert page.status_code == 200
    assert "You have no backup codes" in page.text
    assert 'href="/accounts/center/password-and-security/two-factor"' in page.text


def test_hash_only_page_shows_the_used_state_but_no_code(client, ctx):
    client.app.state.ctx = in_mode(ctx, "hash_only")
    account = sign_up(client, "hana", email="hana@example.com")
    codes = make_codes(client.app.state.ctx, account["id"])
    spend(client.app.state.ctx, account["id"], codes[0])
    web_login(client, log_in(client, "hana"))
    page = client.get(PAGE)
    assert all(code not in page.text for code in codes)
    assert "Backup codes are shown only once" in page.text
    assert "9 of 10 codes left" in page.text
    assert "Code 2" in page.text and "Not used yet" in page.text
    for path in (f"{PAGE}.txt", f"{PAGE}/print"):
        sent_back = client.get(path, follow_redirects=False)
        assert sent_back.status_code == 303 and sent_back.headers["location"] == PAGE


def test_the_page_is_in_japanese_for_japanese_browsers(client, hana):
    page = client.get(PAGE, headers={"Accept-Language": "ja"})
    assert page.status_code == 200
    assert 'lang="ja"' in page.text


def test_the_page_assets_are_served(client):
    css = client.get("/assets/backup-codes.css")
    js = client.get("/assets/backup-codes.js")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    assert js.status_code == 200 and "window.print()" in js.text
    assert client.get("/assets/../settings.py").status_code == 404


def test_api_and_page_agree(client, hana):
    _, codes = hana
    token = log_in(client, "hana")
    api = client.get("/api/v1/me/backup-codes", headers=bearer(token)).json()
    assert [c["code"] for c in api["codes"]] == codes
