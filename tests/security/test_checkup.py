"""The security checkup grades prepared accounts as a careful reviewer would, names a
fix for everything that is not OK, and tells when the account was last reviewed."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select

from mamori.accounts.models import User
from mamori.security.ratings import rate_password
from tests.backup_codes.helpers import spend
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import csrf_from, shown, web_log_in
from tests.passkeys.authenticator import SoftAuthenticator
from tests.passkeys.helpers import add_passkey
from tests.security.helpers import CHECKUP, confirm_contacts
from tests.two_factor.helpers import last_code_sent_to, user_with_app

STRONG = PASSWORD  # "correct horse battery staple": zxcvbn 4, not a common password


def checkup(client, token: str, language: str = "en") -> dict[str, Any]:
    response = client.get(
        "/api/v1/me/security/checkup",
        headers={**bearer(token), "Accept-Language": language},
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f["code"]: f["status"] for f in report["findings"]}


def user_id(ctx, username: str = "hana") -> int:
    with ctx.database.session() as db:
        found = db.scalar(select(User.id).where(User.username == username))
        assert found is not None
        return int(found)


def test_no_two_factor_is_at_risk_and_says_how_to_fix_it(client):
    sign_up(client, email="hana@example.com")
    report = checkup(client, log_in(client))

    assert report["grade"] == "at_risk"
    assert statuses(report) == {
        "two_factor_off": "risk",
        "passkey_missing": "warning",
        "email_unconfirmed": "warning",
        "phone_missing": "warning",
        "trusted_contacts_missing": "warning",
        "password_strong": "ok",
        "review_never": "warning",
    }
    [off] = [f for f in report["findings"] if f["code"] == "two_factor_off"]
    assert off["fix"] == "Turn on two-factor authentication"
    assert off["fix_url"] == "/accounts/center/password-and-security/two-factor"
    [email] = [f for f in report["findings"] if f["code"] == "email_unconfirmed"]
    assert email["fix_url"] == "/accounts/center/password-and-security/contact-details"


def test_text_messages_only_is_a_warning_to_add_an_app(client):
    sign_up(client, email="hana@example.com")
    token = log_in(client)
    client.post("/api/v1/me/two-factor/sms", headers=bearer(token), json={"phone": "09012345678"})
    client.post(
        "/api/v1/me/two-factor/sms/confirm",
        headers=bearer(token),
        json={"code": last_code_sent_to(client, "+819012345678")},
    )

    report = checkup(client, token)

    assert report["grade"] == "fair"
    found = statuses(report)
    assert found["two_factor_on"] == "ok"
    assert found["sms_only"] == "warning"
    assert found["backup_codes"] == "ok"
    assert "authenticator_app" not in found


def test_an_app_with_two_backup_codes_left_warns_and_with_none_is_at_risk(client, ctx, clock):
    token, _, codes = user_with_app(client, clock)
    for code in codes[:8]:
        spend(ctx, user_id(ctx), code)

    report = checkup(client, token)
    found = statuses(report)
    assert found["authenticator_app"] == "ok"
    assert found["backup_codes_low"] == "warning"
    [low] = [f for f in report["findings"] if f["code"] == "backup_codes_low"]
    assert low["title"] == "Only 2 backup codes left"
    assert low["fix_url"].endswith("/two-factor/backup-codes")

    for code in codes[8:]:
        spend(ctx, user_id(ctx), code)
    report = checkup(client, token)
    assert statuses(report)["backup_codes_none"] == "risk"
    assert report["grade"] == "at_risk"


def choose_trusted_contacts(client, token: str) -> None:
    friends = ["aoi", "ren", "yui"]
    for friend in friends:
        sign_up(client, friend)
    chosen = client.put(
        "/api/v1/me/trusted-contacts", headers=bearer(token), json={"usernames": friends}
    )
    assert chosen.status_code == 200, chosen.text


def test_everything_in_order_is_good(client, ctx, clock):
    token, _, _ = user_with_app(client, clock)
    confirm_contacts(ctx)
    choose_trusted_contacts(client, token)
    assert add_passkey(client, token, SoftAuthenticator()).status_code == 201
    reviewed = client.post("/api/v1/me/security/checkup/reviewed", headers=bearer(token))
    assert reviewed.status_code == 200

    report = checkup(client, token)

    assert report["grade"] == "good", report
    assert set(statuses(report).values()) == {"ok"}
    assert set(statuses(report)) == {
        "two_factor_on",
        "passkey",
        "authenticator_app",
        "backup_codes",
        "email_confirmed",
        "phone_confirmed",
        "trusted_contacts",
        "password_strong",
        "reviewed",
    }
    assert report["reviewed_at"] is not None
    assert all(f["fix"] is None for f in report["findings"])


def test_a_review_counts_for_six_months(client, clock):
    sign_up(client)
    token = log_in(client)
    client.post("/api/v1/me/security/checkup/reviewed", headers=bearer(token))
    assert statuses(checkup(client, token))["reviewed"] == "ok"

    clock.advance(days=181)
    token = log_in(client)

    assert statuses(checkup(client, token))["review_due"] == "warning"


def test_a_weak_password_warns_and_a_common_one_is_a_risk(client, ctx):
    sign_up(client, password="sakurasakura1234")
    token = log_in(client, password="sakurasakura1234")
    assert statuses(checkup(client, token))["password_weak"] == "warning"

    with ctx.database.session() as db:
        user = db.get(User, user_id(ctx))
        assert user is not None
        rate_password(db, ctx, user, "iloveyou2")  # an account from before the rules

    assert statuses(checkup(client, token))["password_common"] == "risk"


def test_a_password_changed_elsewhere_is_rated_again_and_an_old_rating_does_not_count(
    client, ctx, clock
):
    sign_up(client, password="sakurasakura1234")
    token = log_in(client, password="sakurasakura1234")
    client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": "sakurasakura1234", "new_password": STRONG},
    )
    assert statuses(checkup(client, token))["password_strong"] == "ok"

    clock.advance(minutes=1)
    with ctx.database.session() as db:  # a path that does not rate (an operator reset)
        user = db.get(User, user_id(ctx))
        assert user is not None
        user.password_changed_at = clock.now()

    assert statuses(checkup(client, token))["password_unrated"] == "warning"


def test_findings_are_in_the_callers_language(client):
    sign_up(client)
    report = checkup(client, log_in(client), language="ja")

    [off] = [f for f in report["findings"] if f["code"] == "two_factor_off"]
    assert off["title"] == "二段階認証はオフです"
    assert off["fix"] == "二段階認証をオンにする"


def test_the_page_shows_the_grade_links_each_fix_and_marks_a_review(client):
    sign_up(client, email="hana@example.com")
    web_log_in(client, "hana", PASSWORD)

    page = client.get(CHECKUP)
    assert page.status_code == 200
    text = shown(page)
    assert "Your account is at risk" in text
    assert "Two-factor authentication is off" in text
    assert 'href="/accounts/center/password-and-security/two-factor"' in page.text
    for fix in set(re.findall(r'<br><a href="([^"]+)"', page.text)):
        assert client.get(fix, follow_redirects=False).status_code == 200, fix
    assert "Never" in text

    marked = client.post(
        f"{CHECKUP}/reviewed", data={"csrf_token": csrf_from(page)}, follow_redirects=False
    )
    assert marked.status_code == 303
    after = shown(client.get(marked.headers["location"]))
    assert "Marked as reviewed" in after
    assert "You reviewed your security recently" in after


def test_marking_as_reviewed_needs_the_csrf_token(client):
    sign_up(client)
    web_log_in(client, "hana", PASSWORD)
    client.get(CHECKUP)

    refused = client.post(f"{CHECKUP}/reviewed", data={}, follow_redirects=False)

    assert refused.status_code == 403
    assert "Never" in shown(client.get(CHECKUP))


def test_a_passkey_is_rated_strongest_and_suggested_to_whoever_has_none(client, clock):
    token, _, _ = user_with_app(client, clock)

    before = statuses(checkup(client, token))
    assert before["passkey_missing"] == "warning"
    suggestion = next(
        f for f in checkup(client, token)["findings"] if f["code"] == "passkey_missing"
    )
    assert suggestion["fix"] == "Add a passkey"
    assert suggestion["fix_url"] == "/accounts/center/password-and-security/passkeys"

    add_passkey(client, token, SoftAuthenticator())

    after = statuses(checkup(client, token))
    assert after["passkey"] == "ok"
    assert "passkey_missing" not in after
