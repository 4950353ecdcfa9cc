"""The recovery's second step: a chooser that says what each way does, then one form."""

from __future__ import annotations

import re

from tests.core.helpers import clock_of, shown, submit
from tests.recovery.helpers import confirm_addresses, last_code_sent_to
from tests.two_factor.helpers import user_with_app

MORE = "/recovery/more"


def at_the_second_step(client, ctx) -> None:
    user_with_app(client, clock_of(ctx))
    confirm_addresses(ctx, "hana")
    submit(client, "/recovery", "/recovery", login="hana")
    submit(client, "/recovery/options", "/recovery/send", option="email")
    code = last_code_sent_to(client, "hana@example.com")
    submit(client, "/recovery/code", "/recovery/code", option="email", code=code)


def test_each_way_says_before_it_is_chosen_whether_it_keeps_two_factor(client, ctx):
    at_the_second_step(client, ctx)

    chooser = shown(client.get(MORE))

    ways = chooser[chooser.index("<h1>One more step") : chooser.index("No access to these?")]
    assert "<form" not in ways  # links to one form each, not three forms
    for way in ("Use a backup code", "Use your authenticator app"):
        assert re.search(
            way + r"</strong><br>\s*<span class=\"muted\">Instant\. Two-factor "
            r"authentication stays on\.",
            chooser,
        )
    assert re.search(
        r"Enter your password</strong><br>\s*<span class=\"muted\">Takes 72 hours, "
        r"then turns off two-factor authentication\.",
        chooser,
    )


def test_the_waiting_time_comes_from_the_settings(client, ctx):
    ctx.settings.recovery_holding_hours = 24
    at_the_second_step(client, ctx)

    assert "Takes 24 hours, then turns off two-factor authentication." in shown(client.get(MORE))


def test_a_chosen_way_shows_only_its_own_form(client, ctx):
    at_the_second_step(client, ctx)

    password = client.get(f"{MORE}?way=password")
    assert 'class="alert warning"' in password.text
    assert password.text.count("<form") == 1 + password.text.count('action="/language"')
    assert 'id="password"' in password.text and 'id="code"' not in password.text

    backup = client.get(f"{MORE}?way=backup_code")
    assert "Instant. Two-factor authentication stays on." in shown(backup)
    assert 'id="code"' in backup.text and 'id="password"' not in backup.text
    assert 'value="backup_code"' in backup.text


def test_a_wrong_password_comes_back_on_the_password_form(client, ctx):
    at_the_second_step(client, ctx)

    wrong = submit(client, f"{MORE}?way=password", "/recovery/password", password="not it")

    assert wrong.status_code == 401
    assert "The password isn't right" in shown(wrong)
    assert 'id="password"' in wrong.text
    assert "Takes 72 hours, then turns off two-factor authentication." in shown(wrong)
