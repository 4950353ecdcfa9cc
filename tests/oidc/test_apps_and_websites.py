"""Accounts Center → Apps and websites: every app the person let in, what it can see,
when it last used the sign-in, and "Remove", which revokes the app's tokens at once."""

from __future__ import annotations

import pytest
from authlib.integrations.base_client.errors import OAuthError as ClientError

from tests.conftest import PASSWORD, sign_up
from tests.core.helpers import app_client, csrf_from, events, shown, web_log_in
from tests.oidc.helpers import (
    ISSUER,
    allow,
    location,
    log_in_on_page,
    oauth_client,
    register,
    start,
    to_app,
)
from tests.oidc.test_refusals import exchange

APPS = "/accounts/center/apps-and-websites"


@pytest.fixture
def photos(client, ctx):
    """sora allowed Photos (a third-party app) to see her e-mail; Photos holds tokens."""
    sign_up(client, "sora", email="sora@example.com")
    client.cookies.clear()
    app = register(ctx)
    oauth = oauth_client(client, app)
    started = start(oauth)
    consent = client.get(
        location(log_in_on_page(client, client.get(started.url, follow_redirects=False), "sora"))
    )
    back = to_app(client, allow(client, consent), app.redirect_uri)
    return app, oauth, exchange(oauth, started, back)


def test_the_page_lists_the_app_with_what_it_sees_and_when(client, photos):
    page = client.get(APPS)
    text = shown(page)
    assert "Photos" in text and "Your e-mail address" in text and "Last used" in text
    assert 'href="/accounts/center/apps-and-websites"' in client.get("/accounts/center").text


def test_remove_asks_first_then_revokes_every_token_at_once(client, ctx, photos):
    app, oauth, tokens = photos
    asked = client.get(f"{APPS}/{app.client_id}/remove")
    assert "Remove Photos?" in shown(asked)
    assert client.get(APPS).status_code == 200 and "Photos" in shown(client.get(APPS))

    done = client.post(f"{APPS}/{app.client_id}/remove", data={"csrf_token": csrf_from(asked)})
    assert "Photos was removed" in shown(done)
    assert "You haven't logged in to any apps" in shown(done)
    with pytest.raises(ClientError):
        oauth.refresh_token(f"{ISSUER}/oauth/token", refresh_token=tokens["refresh_token"])
    assert (
        client.get(
            "/oauth/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"}
        ).status_code
        == 401
    )
    assert events(ctx, "oidc.tokens_revoked")[0].details["by"] == "person"
    # Next time, Photos must ask again.
    again = client.get(start(oauth).url)
    assert "Allow Photos to use your mamori account?" in shown(again)


def test_someone_else_cannot_remove_the_app_for_her(client, ctx, photos):
    app, oauth, tokens = photos
    with app_client(ctx) as other:
        sign_up(other, "kai")
        web_log_in(other, "kai", PASSWORD)
        page = other.get(APPS)
        assert "Photos" not in shown(page)
        assert other.get(f"{APPS}/{app.client_id}/remove").status_code == 404
        refused = other.post(f"{APPS}/{app.client_id}/remove", data={"csrf_token": csrf_from(page)})
        assert refused.status_code == 404
    assert oauth.refresh_token(f"{ISSUER}/oauth/token", refresh_token=tokens["refresh_token"])
