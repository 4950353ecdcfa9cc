"""/metrics counts what an operator watches, each where it happens, and nothing else."""

from __future__ import annotations

from fastapi.testclient import TestClient

from mamori.context import Context
from mamori.notifications.delivery import DeliveryCounts, deliver_pending
from mamori.notifications.service import send_email
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import app_client, clock_of, problem, with_settings
from tests.core.servers import free_port
from tests.notifications.helpers import mailer
from tests.observability.helpers import moved, parse, sample, scrape
from tests.two_factor.helpers import app_code, start_login, user_with_app

LOGINS = "mamori_logins_total"
SECOND_FACTOR = "mamori_second_factor_total"
LATENCY = "mamori_http_request_duration_seconds_count"


def test_logins_are_counted_by_outcome_and_nothing_else_moves(client: TestClient):
    sign_up(client, "hana")
    before = scrape(client)
    assert client.post("/api/v1/login", json={"login": "hana", "password": "wrong"}).status_code
    assert client.post("/api/v1/login", json={"login": "nobody", "password": PASSWORD})
    log_in(client, "hana")
    assert moved(before, scrape(client)) == {
        sample(LOGINS, outcome="password_failed"): 2,
        sample(LOGINS, outcome="succeeded"): 1,
    }


def test_second_factor_outcomes_are_counted_by_method(ctx: Context, client: TestClient):
    clock = clock_of(ctx)
    _, secret, backup_codes = user_with_app(client, clock)
    before = scrape(client)

    challenge = start_login(client)["challenge"]
    wrong = client.post(
        f"/api/v1/login/{challenge}/verify", json={"method": "totp", "code": "000000"}
    )
    problem(wrong, 400, "invalid_code")
    right = client.post(
        f"/api/v1/login/{challenge}/verify",
        json={"method": "totp", "code": app_code(secret, clock)},
    )
    assert right.status_code == 200, right.text
    challenge = start_login(client)["challenge"]
    by_backup = client.post(
        f"/api/v1/login/{challenge}/verify",
        json={"method": "backup_code", "code": backup_codes[0]},
    )
    assert by_backup.status_code == 200, by_backup.text

    assert moved(before, scrape(client)) == {
        sample(LOGINS, outcome="second_factor_required"): 2,
        sample(LOGINS, outcome="succeeded"): 2,
        sample(SECOND_FACTOR, method="totp", outcome="failed", reason="invalid_code"): 1,
        sample(SECOND_FACTOR, method="totp", outcome="succeeded", reason=""): 1,
        sample(SECOND_FACTOR, method="backup_code", outcome="succeeded", reason=""): 1,
    }


def test_a_throttled_request_is_counted_under_its_policy(ctx: Context):
    strict = with_settings(ctx, login_account_free_failures=1)
    with app_client(strict) as client:
        sign_up(client, "hana")
        before = scrape(client)
        first = client.post("/api/v1/login", json={"login": "hana", "password": "wrong"})
        assert first.status_code == 401, first.text
        refused = client.post("/api/v1/login", json={"login": "hana", "password": PASSWORD})
        problem(refused, 429, "too_many_attempts")
        assert moved(before, scrape(client)) == {
            sample(LOGINS, outcome="password_failed"): 1,
            sample("mamori_throttled_total", policy="login-account"): 1,
        }


def test_a_failed_hand_over_is_counted_by_channel(ctx: Context):
    down = mailer(ctx, free_port())  # nothing listens there
    with app_client(down) as client:
        before = scrape(client)
        with down.database.session() as db:
            send_email(db, down, to="hana@example.com", subject="Hello", body="Hi", user_id=None)
        assert deliver_pending(down) == DeliveryCounts(retrying=1)
        assert moved(before, scrape(client)) == {
            sample("mamori_delivery_failures_total", channel="email", outcome="retrying"): 1
        }


def test_latency_is_labelled_with_the_route_template_never_the_path(client: TestClient):
    secret = "Sk3tchyT0kenThatMustNeverBeSeen"
    before = scrape(client)
    client.get(f"/recovery/cancel/{secret}")
    client.get(f"/no/such/page/{secret}")
    after = scrape(client)
    text = client.get("/metrics").text
    assert secret not in text
    cancel = sample(LATENCY, method="GET", route="/recovery/cancel/{cancel_token}", status="2xx")
    cancel_4xx = sample(
        LATENCY, method="GET", route="/recovery/cancel/{cancel_token}", status="4xx"
    )
    assert after.get(cancel, 0) + after.get(cancel_4xx, 0) == (
        before.get(cancel, 0) + before.get(cancel_4xx, 0) + 1
    )
    unmatched = sample(LATENCY, method="GET", route="unmatched", status="4xx")
    assert after[unmatched] == before.get(unmatched, 0) + 1


def test_no_label_names_a_person_an_address_or_a_secret(ctx: Context, client: TestClient):
    """Every flow that audits something, then the whole scrape is searched for what
    the users typed and were given."""
    clock = clock_of(ctx)
    token, secret, backup_codes = user_with_app(client, clock, "hanako")
    sign_up(client, "taro", email="taro@example.net", phone="+81 90 1234 5678")
    client.post("/api/v1/login", json={"login": "taro@example.net", "password": "wrong"})
    session = log_in(client, "taro")
    client.get("/api/v1/me", headers=bearer(session))
    challenge = str(start_login(client, "hanako")["challenge"])
    client.post(f"/api/v1/login/{challenge}/verify", json={"method": "totp", "code": "123456"})
    recovery = client.post("/api/v1/recovery", json={"login": "taro@example.net"})
    assert recovery.status_code == 202, recovery.text
    text = client.get("/metrics").text
    for private in (
        "hanako",
        "taro",
        "example.net",
        "+819012345678",
        "9012345678",
        PASSWORD,
        secret,
        token,
        session,
        challenge,
        recovery.json()["recovery"],
        *backup_codes,
    ):
        assert private not in text
    assert parse(text)  # and the scrape is still well-formed


def test_metrics_are_off_in_production_without_a_token(ctx: Context):
    with app_client(with_settings(ctx, env="production")) as client:
        problem(client.get("/metrics"), 404, "not_found")


def test_metrics_need_the_bearer_token_once_one_is_set(ctx: Context):
    token = "metrics-token-for-prometheus-0123"
    with app_client(with_settings(ctx, env="production", metrics_token=token)) as client:
        problem(client.get("/metrics"), 401, "not_authenticated")
        problem(
            client.get("/metrics", headers=bearer("metrics-token-guessed-wrong0")),
            401,
            "not_authenticated",
        )
        problem(client.get("/metrics", headers={"Authorization": token}), 401, "not_authenticated")
        assert scrape(client, Authorization=f"Bearer {token}")
