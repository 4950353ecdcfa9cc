"""Logging in with a backup code: POST /api/v1/login/{challenge}/verify, method=backup_code."""

from __future__ import annotations

import pytest

from tests.backup_codes.helpers import subjects
from tests.conftest import bearer
from tests.two_factor.helpers import start_login, user_with_app

FULL_WIDTH = str.maketrans("0123456789 -", "０１２３４５６７８９\u3000－")


def verify(client, code: str, method: str = "backup_code"):
    challenge = start_login(client)
    methods = challenge["methods"]
    assert isinstance(methods, list) and "backup_code" in methods
    return client.post(
        f"/api/v1/login/{challenge['challenge']}/verify", json={"method": method, "code": code}
    )


@pytest.mark.parametrize(
    "notation",
    [
        lambda code: code,
        lambda code: code.replace(" ", ""),
        lambda code: code.replace(" ", "-"),
        lambda code: f"  {code}  ",
        lambda code: code.translate(FULL_WIDTH),
        lambda code: code.replace(" ", "-").translate(FULL_WIDTH),
    ],
    ids=["as shown", "no space", "hyphen", "padded", "full-width", "full-width hyphen"],
)
def test_a_backup_code_logs_in_however_it_is_typed(client, clock, notation):
    _, _, codes = user_with_app(client, clock)
    answer = verify(client, notation(codes[0]))
    assert answer.status_code == 200, answer.text
    token = answer.json()["token"]
    assert client.get("/api/v1/me", headers=bearer(token)).json()["username"] == "hana"
    assert "A backup code was used to log in" in subjects(client.app.state.ctx, "hana@example.com")


def test_a_used_code_says_when_it_was_used(client, clock):
    _, _, codes = user_with_app(client, clock)
    used_at = clock.now()
    assert verify(client, codes[0]).status_code == 200
    clock.advance(hours=2)
    again = verify(client, codes[0].replace(" ", "-"))
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "code_already_used"
    assert body["used_at"] == used_at.isoformat()


@pytest.mark.parametrize(
    "typed", ["0000 000", "abcd efgh", "١٢٣٤٥٦٧٨", "1234\x005678", "1234.5678"], ids=repr
)
def test_something_that_is_not_a_code_is_invalid_code(client, clock, typed):
    _, _, codes = user_with_app(client, clock)
    answer = verify(client, typed)
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_code"
    assert verify(client, codes[0]).status_code == 200  # the attempt spent nothing


def test_a_code_of_the_replaced_set_is_invalid_code(client, clock):
    token, _, old = user_with_app(client, clock)
    assert client.post("/api/v1/me/backup-codes", headers=bearer(token)).status_code == 201
    answer = verify(client, old[0])
    assert answer.status_code == 400
    assert answer.json()["code"] == "invalid_code"


def test_too_long_input_is_refused_before_any_work(client, clock):
    user_with_app(client, clock)
    answer = verify(client, "1" * 1024)
    assert answer.status_code == 422
    assert answer.json()["code"] == "invalid_request"


def test_wrong_codes_count_as_second_factor_failures_until_too_many_attempts(client, clock):
    _, _, codes = user_with_app(client, clock)
    answers = [
        verify(client, "0000 0000" if "0000 0000" not in codes else "9999 9999") for _ in range(6)
    ]
    assert [a.status_code for a in answers[:5]] == [400] * 5
    assert answers[5].status_code == 429
    assert answers[5].json()["code"] == "too_many_attempts"
    assert int(answers[5].headers["retry-after"]) >= 1
