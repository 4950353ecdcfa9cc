"""Tokens end with the mamori session they came from, and apps are told: logging out,
a password change, "This wasn't me" (OpenID Back-Channel Logout, received by a local
HTTP server standing in for the app), and RP-initiated logout."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from authlib.integrations.base_client.errors import OAuthError as ClientError
from fastapi.testclient import TestClient
from joserfc import jwt

from mamori.notifications.delivery import deliver_pending
from mamori.notifications.models import OutboxMessage
from mamori.oidc.backchannel import EVENT, queue_backchannel_logouts
from mamori.oidc.housekeeping import forget_expired
from mamori.oidc.models import AuthorizationRequest, OidcToken
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import (
    app_client,
    count,
    csrf_from,
    events,
    run_cli,
    shown,
    submit,
    web_log_in,
)
from tests.oidc.helpers import (
    ISSUER,
    App,
    AppBackend,
    key_set,
    oauth_client,
    register,
    verified,
)
from tests.oidc.test_refusals import exchange, signed_in_code
from tests.recovery.helpers import complete, confirm_addresses, prove_by_email
from tests.recovery.helpers import start as start_recovery
from tests.security.helpers import wasnt_me_link
from tests.security.test_wasnt_me import confirm
from tests.support.helpers import write_secrets

TOKEN_URL = f"{ISSUER}/oauth/token"
MAIL = "sora@example.com"


@pytest.fixture
def backend() -> Iterator[AppBackend]:
    with AppBackend() as server:
        yield server


@pytest.fixture
def signed_in(client, ctx, backend) -> tuple[App, Any, dict[str, Any]]:
    """sora, logged in to mamori in this browser, signed in to a first-party app."""
    sign_up(client, "sora", email=MAIL)
    client.cookies.clear()
    app = register(ctx, first_party=True, backchannel_logout_uri=backend.uri)
    oauth = oauth_client(client, app)
    tokens = exchange(oauth, *signed_in_code(client, oauth, app))
    return app, oauth, tokens


def tell_apps(ctx) -> None:
    """One round of the delivery worker."""
    queue_backchannel_logouts(ctx)
    deliver_pending(ctx)


def logout_claims(client: TestClient, token: str, app: App) -> dict[str, Any]:
    decoded = jwt.decode(token, key_set(client))
    assert decoded.header["typ"] == "logout+jwt"
    claims = dict(decoded.claims)
    assert claims["iss"] == ISSUER and claims["aud"] == app.client_id
    assert claims["events"] == {EVENT: {}} and "nonce" not in claims
    return claims


def assert_tokens_dead(client: TestClient, app: App, oauth: Any, tokens: dict[str, Any]) -> None:
    userinfo = client.get(
        "/oauth/userinfo", headers={"authorization": f"Bearer {tokens['access_token']}"}
    )
    assert userinfo.status_code == 401
    assert userinfo.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    introspected = client.post(
        "/oauth/introspect",
        data={"token": tokens["access_token"]},
        auth=(app.client_id, app.client_secret),
    )
    assert introspected.json() == {"active": False}
    with pytest.raises(ClientError):
        oauth.refresh_token(TOKEN_URL, refresh_token=tokens["refresh_token"])


def test_logging_out_ends_the_apps_tokens_and_tells_it_which_session(
    client, ctx, backend, signed_in
):
    app, oauth, tokens = signed_in
    id_claims = verified(client, tokens["id_token"])
    page = client.get("/accounts/center")
    client.post("/logout", data={"csrf_token": csrf_from(page)})

    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    claims = logout_claims(client, token, app)
    assert claims["sid"] == id_claims["sid"] and claims["sub"] == id_claims["sub"]
    tell_apps(ctx)
    assert len(backend.tokens) == 1  # told once


def test_this_wasnt_me_logs_the_person_out_of_every_app_by_sub(client, ctx, backend, signed_in):
    app, oauth, tokens = signed_in
    sub = verified(client, tokens["id_token"])["sub"]
    # Someone else, with the password, changes it; sora says "This wasn't me".
    intruder = log_in(client, "sora")
    changed = client.post(
        "/api/v1/me/password",
        headers=bearer(intruder),
        json={"current_password": PASSWORD, "new_password": "an intruder's new passphrase"},
    )
    assert changed.status_code == 204
    link = wasnt_me_link(client, MAIL, "Your password was changed")
    with app_client(ctx) as another_browser:
        assert "Your account is secured" in shown(confirm(another_browser, link))

    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    claims = logout_claims(client, token, app)
    assert claims["sub"] == sub and "sid" not in claims  # every session of the person
    [queued] = events(ctx, "oidc.backchannel_logout_queued")
    assert queued.details["logs_out"] == "every_session"
    # The token is kept only sealed in the outbox, and never shown as a person's message.
    with ctx.database.session() as db:
        message = db.query(OutboxMessage).filter(OutboxMessage.channel == "logout").one()
        assert message.status == "sent" and token not in message.body
    assert all(m["channel"] in ("email", "sms") for m in client.get("/dev/outbox").json())


def test_removing_the_app_in_accounts_center_tells_it_to_log_the_person_out(
    client, ctx, backend, signed_in
):
    app, oauth, tokens = signed_in
    sub = verified(client, tokens["id_token"])["sub"]
    remove = f"/accounts/center/apps-and-websites/{app.client_id}/remove"
    asked = client.get(remove)
    client.post(remove, data={"csrf_token": csrf_from(asked)})

    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    claims = logout_claims(client, token, app)
    assert claims["sub"] == sub and "sid" not in claims  # every session it holds for her
    [queued] = events(ctx, "oidc.backchannel_logout_queued")
    assert queued.details["logs_out"] == "every_session"
    # mamori's own session goes on: only the app was removed.
    assert client.get("/accounts/center").status_code == 200


def test_an_app_that_does_not_answer_is_told_again_later(client, ctx, clock, backend, signed_in):
    backend.status = 503
    page = client.get("/accounts/center")
    client.post("/logout", data={"csrf_token": csrf_from(page)})
    tell_apps(ctx)
    assert len(backend.tokens) == 1
    backend.status = 200
    clock.advance(minutes=1)
    tell_apps(ctx)
    assert len(backend.tokens) == 2 and backend.tokens[0] == backend.tokens[1]
    with ctx.database.session() as db:
        message = db.query(OutboxMessage).filter(OutboxMessage.channel == "logout").one()
        assert message.status == "sent" and message.attempts == 2


def test_rp_initiated_logout_asks_first_then_returns_to_the_app(client, ctx, backend, signed_in):
    app, oauth, tokens = signed_in
    query = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": "https://photos.example/signed-out",
        "state": "bye",
    }
    page = client.get("/oauth/logout", params=query)
    assert page.status_code == 200 and "Log out of mamori?" in shown(page)
    assert client.get("/accounts/center", follow_redirects=False).status_code == 200

    done = client.post("/oauth/logout", data={"csrf_token": csrf_from(page), **query})
    assert 'content="0;url=https://photos.example/signed-out?state=bye"' in done.text
    assert client.get("/accounts/center", follow_redirects=False).status_code == 303
    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    assert len(backend.tokens) == 1


def test_rp_initiated_logout_never_sends_the_person_to_an_unregistered_site(client, ctx, signed_in):
    _, _, tokens = signed_in
    query = {
        "id_token_hint": tokens["id_token"],
        "post_logout_redirect_uri": "https://attacker.example/",
    }
    page = client.get("/oauth/logout", params=query)
    done = client.post("/oauth/logout", data={"csrf_token": csrf_from(page), **query})
    assert done.status_code == 200 and "attacker.example" not in done.text
    assert "You're logged out" in shown(done)


def test_a_password_change_ends_the_apps_tokens_of_other_sessions(client, ctx, backend, signed_in):
    """The phone that changed the password stays logged in, and so do its apps: the app is
    told of the other session by its sid, not "every session" (sub alone)."""
    app, oauth, tokens = signed_in
    sid = verified(client, tokens["id_token"])["sid"]
    phone = log_in(client, "sora")
    changed = client.post(
        "/api/v1/me/password",
        headers=bearer(phone),
        json={"current_password": PASSWORD, "new_password": "a brand new passphrase"},
    )
    assert changed.status_code == 204
    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    assert logout_claims(client, token, app)["sid"] == sid


def test_an_operator_disabling_the_account_logs_it_out_of_every_app(
    client, ctx, backend, signed_in
):
    app, oauth, tokens = signed_in
    write_secrets(ctx)
    assert run_cli(ctx, "users", "disable", "sora").exit_code == 0
    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    assert "sid" not in logout_claims(client, token, app)


def test_what_the_provider_no_longer_needs_is_deleted_a_day_after_it_expired(
    client, ctx, clock, signed_in
):
    assert count(ctx, OidcToken) == 2 and count(ctx, AuthorizationRequest) == 1
    clock.advance(days=2)
    assert forget_expired(ctx) == 2  # the request and the access token
    assert count(ctx, AuthorizationRequest) == 0 and count(ctx, OidcToken) == 1
    clock.advance(days=40)  # past the session's end: its refresh token goes too
    forget_expired(ctx)
    assert count(ctx, OidcToken) == 0


def test_log_out_of_all_other_sessions_ends_the_apps_tokens_of_those_sessions(
    client, ctx, backend, signed_in
):
    """From another browser, "Log out of all other sessions": the session the app's
    tokens came from ends, and the app is told that session (its sid)."""
    app, oauth, tokens = signed_in
    sid = verified(client, tokens["id_token"])["sid"]
    with app_client(ctx) as laptop:
        web_log_in(laptop, "sora", PASSWORD)
        sessions = "/accounts/center/password-and-security/sessions"
        ended = submit(laptop, f"{sessions}/end-others", f"{sessions}/end")
        assert ended.status_code == 303

    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    assert logout_claims(client, token, app)["sid"] == sid


def test_a_recovery_logs_the_person_out_of_every_app_by_sub(client, ctx, backend, signed_in):
    app, oauth, tokens = signed_in
    sub = verified(client, tokens["id_token"])["sub"]
    confirm_addresses(ctx, "sora")
    with app_client(ctx) as elsewhere:
        recovery = start_recovery(elsewhere, "sora")["recovery"]
        prove_by_email(elsewhere, recovery, MAIL)
        assert complete(elsewhere, recovery).status_code == 200

    assert_tokens_dead(client, app, oauth, tokens)
    tell_apps(ctx)
    [token] = backend.tokens
    claims = logout_claims(client, token, app)
    assert claims["sub"] == sub and "sid" not in claims
