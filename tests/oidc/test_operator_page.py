"""The operator's page of registered apps: listed without secrets, turned off from there;
closed to everyone else."""

from __future__ import annotations

from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import csrf_from, events, run_cli, shown, web_log_in
from tests.oidc.helpers import register
from tests.support.helpers import write_secrets

PAGE = "/operator/apps"


def test_an_operator_sees_every_app_and_can_turn_one_off(client, ctx):
    write_secrets(ctx)
    sign_up(client, "sora")
    assert run_cli(ctx, "users", "grant-operator", "sora").exit_code == 0
    app = register(ctx, "Photos")
    web_log_in(client, "sora", PASSWORD)
    page = client.get(PAGE)
    assert "Photos" in shown(page) and app.client_id in page.text
    assert app.client_secret and app.client_secret not in page.text

    client.post(f"{PAGE}/{app.client_id}/disable", data={"csrf_token": csrf_from(page)})
    assert "Turned off" in shown(client.get(PAGE))
    assert events(ctx, "oidc.client_disabled")


def test_the_page_is_closed_to_people_who_are_not_operators(client, ctx):
    app = register(ctx, "Photos")
    sign_up(client, "kai")
    web_log_in(client, "kai", PASSWORD)
    page = client.get(PAGE)
    assert page.status_code == 403 and "Photos" not in shown(page)
    refused = client.post(f"{PAGE}/{app.client_id}/disable", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 403
    assert not events(ctx, "oidc.client_disabled")
