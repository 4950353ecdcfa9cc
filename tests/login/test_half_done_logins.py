"""A login half done with the password dies when the owner secures the account (issue 16,
finding 1): a password change, a recovery, "This wasn't me", an operator's disable and
"log out of all other sessions" each end every open login challenge of the account, and
a password change ends every "Confirm it's you" window too."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from mamori.context import Context
from mamori.core.clock import MovableClock
from mamori.sessions.models import LoginSession
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import problem, run_cli, submit, web_log_in
from tests.recovery.helpers import complete, confirm_addresses, prove, prove_by_email, start
from tests.security.helpers import wasnt_me_link
from tests.two_factor.helpers import app_code, start_login

MAIL = "hana@example.com"
NEW_PASSWORD = "a completely new passphrase 2026"
SESSIONS = "/accounts/center/password-and-security/sessions"
APP_PAGE = "/accounts/center/password-and-security/two-factor/authenticator"
APP_SETUP = "/api/v1/me/two-factor/totp"  # needs a "Confirm it's you" in the last 10 minutes


def owner_with_app(client: TestClient, ctx: Context, clock: MovableClock) -> tuple[str, str]:
    """hana with an authenticator app, logged in on the API and in this browser.
    Returns (her API token, the app's secret)."""
    sign_up(client, email=MAIL)
    confirm_addresses(ctx, "hana")
    web_log_in(client, "hana", PASSWORD)  # before two-factor: one step is enough
    token = log_in(client)
    secret = client.post("/api/v1/me/two-factor/totp", headers=bearer(token)).json()["secret"]
    confirmed = client.post(
        "/api/v1/me/two-factor/totp/confirm",
        headers=bearer(token),
        json={"code": app_code(secret, clock)},
    )
    assert confirmed.status_code == 200, confirmed.text
    clock.advance(seconds=30)
    return token, secret


def live_sessions(ctx: Context) -> int:
    with ctx.database.session() as db:
        return int(
            db.scalar(
                select(func.count())
                .select_from(LoginSession)
                .where(LoginSession.ended_at.is_(None))
            )
            or 0
        )


def changes_password(client: TestClient, ctx: Context, secret: str, token: str) -> None:
    response = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204, response.text


def recovers(client: TestClient, ctx: Context, secret: str, token: str) -> None:
    """The e-mailed code and the app: two proofs, so the new password applies at once."""
    started = start(client, "hana")
    prove_by_email(client, started["recovery"], MAIL)
    clock = ctx.clock
    assert isinstance(clock, MovableClock)
    clock.advance(seconds=30)
    proved = prove(client, started["recovery"], "totp", code=app_code(secret, clock))
    assert proved.status_code == 200, proved.text
    assert complete(client, started["recovery"]).json()["state"] == "completed"


def says_it_wasnt_me(client: TestClient, ctx: Context, secret: str, token: str) -> None:
    """The alert the attacker's wrong code sent: "Someone entered your password"."""
    link = wasnt_me_link(client, MAIL, "Someone entered your password")
    answer = client.post("/api/v1/wasnt-me", json={"token": link.rsplit("/", 1)[1]})
    assert answer.status_code == 200, answer.text


def is_disabled_and_enabled_again(
    client: TestClient, ctx: Context, secret: str, token: str
) -> None:
    """The operator disables the account while looking into it, then enables it again."""
    assert run_cli(ctx, "users", "disable", "hana").exit_code == 0
    assert run_cli(ctx, "users", "enable", "hana").exit_code == 0


def logs_out_everywhere_else(client: TestClient, ctx: Context, secret: str, token: str) -> None:
    answer = submit(client, SESSIONS, f"{SESSIONS}/end")
    assert answer.status_code == 303, answer.text


OwnerAction = Callable[[TestClient, Context, str, str], None]


@pytest.mark.parametrize(
    "secure_account",
    [
        changes_password,
        recovers,
        says_it_wasnt_me,
        is_disabled_and_enabled_again,
        logs_out_everywhere_else,
    ],
)
def test_a_login_opened_with_the_password_dies_when_the_owner_secures_the_account(
    client, ctx, clock, secure_account: OwnerAction
):
    token, secret = owner_with_app(client, ctx, clock)
    attacker = start_login(client)  # the attacker has the password
    url = f"/api/v1/login/{attacker['challenge']}/verify"
    wrong = client.post(url, json={"method": "totp", "code": "000000"})
    assert wrong.json()["code"] == "invalid_code"  # and the owner is alerted

    secure_account(client, ctx, secret, token)
    sessions_before = live_sessions(ctx)
    clock.advance(seconds=30)
    # Even with a right code (phished, or read over a shoulder), the old login is over.
    late = client.post(url, json={"method": "totp", "code": app_code(secret, clock)})

    problem(late, 410, "challenge_expired")
    assert "token" not in late.json()
    assert live_sessions(ctx) == sessions_before


def test_a_confirm_its_you_window_ends_with_the_password_change(client, ctx, clock):
    sign_up(client, email=MAIL)
    token = log_in(client)  # a fresh login counts as just confirmed
    assert client.post(APP_SETUP, headers=bearer(token)).status_code == 200

    changed = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert changed.status_code == 204

    problem(client.post(APP_SETUP, headers=bearer(token)), 403, "reauthentication_required")
    again = client.post(
        "/api/v1/me/reauthenticate", headers=bearer(token), json={"password": NEW_PASSWORD}
    )
    assert again.status_code == 204
    assert client.post(APP_SETUP, headers=bearer(token)).status_code == 200


def test_logging_out_the_other_sessions_keeps_this_ones_confirmation(client, ctx, clock):
    """Ending the others changes nothing about who holds this session."""
    sign_up(client, email=MAIL)
    other = log_in(client)
    web_log_in(client, "hana", PASSWORD)

    submit(client, SESSIONS, f"{SESSIONS}/end")

    problem(client.get("/api/v1/me", headers=bearer(other)), 401, "not_authenticated")
    # Setting up an app needs a confirmation in the last 10 minutes: the login still counts.
    page = client.get(APP_PAGE, follow_redirects=False)
    assert page.status_code == 200, page.headers.get("location")
