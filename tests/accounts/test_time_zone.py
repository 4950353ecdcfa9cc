"""Every time a person reads is in their own time zone, with the zone named: the browser's
zone is kept on the account at the first page after login (Japanese readers without a
script get Japan's), and Accounts Center changes it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.core.i18n import format_moment
from tests.conftest import PASSWORD
from tests.core.helpers import events, shown, submit, web_sign_up

CENTER = "/accounts/center"
ZONE_PAGE = f"{CENTER}/time-zone"


def stored_zone(ctx) -> str | None:
    with ctx.database.session() as db:
        zone: str | None = db.scalars(select(User.time_zone)).one()
        return zone


@pytest.mark.parametrize(
    ("locale", "zone", "expected"),
    [
        ("ja", "Asia/Tokyo", "2026年12月7日 23:34 (日本時間)"),
        ("en", "Asia/Tokyo", "Dec 7, 2026, 11:34 PM JST"),
        ("en", "Europe/London", "Dec 7, 2026, 2:34 PM GMT"),
        ("ja", "Europe/London", "2026年12月7日 14:34 (イギリス時間)"),
        ("en", None, "Dec 7, 2026, 2:34 PM UTC"),
        ("ja", None, "2026年12月7日 23:34 (日本時間)"),
        ("en", "Not/AZone", "Dec 7, 2026, 2:34 PM UTC"),
    ],
)
def test_a_moment_reads_in_the_persons_zone_with_the_zone_named(locale, zone, expected):
    moment = datetime(2026, 12, 7, 14, 34, tzinfo=UTC)

    assert format_moment(moment, locale, zone) == expected


def test_the_browsers_zone_is_kept_on_the_account_at_the_first_page(client, ctx):
    client.cookies.set("mamori_tz", "Europe%2FLondon")
    web_sign_up(client, "hana", PASSWORD)

    page = client.get(CENTER, headers={"Accept-Language": "en"})

    assert stored_zone(ctx) == "Europe/London"
    assert "Europe/London" in shown(page)
    # Another browser later does not move it: the account's zone is the person's choice.
    client.cookies.set("mamori_tz", "America%2FNew_York")
    client.get(CENTER)
    assert stored_zone(ctx) == "Europe/London"


def test_without_a_script_a_japanese_reader_gets_japans_time(client, ctx):
    web_sign_up(client, "hana", PASSWORD)

    client.get(CENTER, headers={"Accept-Language": "ja"})
    page = client.get(ZONE_PAGE, headers={"Accept-Language": "ja"})

    assert stored_zone(ctx) == "Asia/Tokyo"
    assert "(日本時間)" in shown(page)


def test_a_nonsense_zone_cookie_is_ignored(client, ctx):
    client.cookies.set("mamori_tz", "..%2F..%2Fetc%2Fpasswd")
    web_sign_up(client, "hana", PASSWORD)

    client.get(CENTER, headers={"Accept-Language": "en"})

    assert stored_zone(ctx) == "UTC"


def test_accounts_center_changes_the_zone_and_every_page_follows(client, ctx):
    web_sign_up(client, "hana", PASSWORD)
    client.get(CENTER, headers={"Accept-Language": "en"})

    saved = submit(client, ZONE_PAGE, ZONE_PAGE, time_zone="Asia/Tokyo")

    assert saved.status_code == 200
    assert "Saved" in shown(saved)
    assert stored_zone(ctx) == "Asia/Tokyo"
    assert "JST" in shown(saved)
    assert "JST" in shown(client.get(ZONE_PAGE, headers={"Accept-Language": "en"}))
    assert [e.details["time_zone"] for e in events(ctx, "account.time_zone_changed")] == [
        "Asia/Tokyo"
    ]


def test_an_unknown_zone_is_refused_on_the_same_page(client, ctx):
    client.headers["Accept-Language"] = "ja"
    web_sign_up(client, "hana", PASSWORD)
    client.get(CENTER)

    refused = submit(client, ZONE_PAGE, ZONE_PAGE, time_zone="Mars/Olympus")

    assert refused.status_code == 422
    assert "一覧からタイムゾーンを選んでください" in shown(refused)
    assert '<select id="time_zone"' in refused.text
    assert stored_zone(ctx) == "Asia/Tokyo"
