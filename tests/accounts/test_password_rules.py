"""Which passwords a person may choose (OWASP ASVS 6.2, NIST SP 800-63B)."""

from __future__ import annotations

import argon2
import pytest

from mamori.accounts.models import User
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import app_client, count, problem, with_settings
from tests.two_factor.helpers import user_with_app


def try_sign_up(client, password: str, username: str = "hanako_sato", **extra: str):
    return client.post(
        "/api/v1/accounts", json={"username": username, "password": password, **extra}
    )


@pytest.fixture
def lenient_client(ctx):
    """An operator who set MAMORI_PASSWORD_MIN_LENGTH_SINGLE_FACTOR=8: the common-password
    and context checks then meet short passwords at sign-up too."""
    with app_client(with_settings(ctx, password_min_length_single_factor=8)) as client:
        yield client


def test_fourteen_characters_are_too_short_at_sign_up_and_the_detail_says_15(client, ctx):
    """Sign-up has no second factor yet: NIST SP 800-63B-4's 15 for a single factor."""
    body = problem(try_sign_up(client, "kx9#vq2w mt4@z"), 422, "password_too_short")

    assert body["detail"] == "Use at least 15 characters"
    assert count(ctx, User) == 0


def test_fifteen_uncommon_characters_are_enough(client):
    assert try_sign_up(client, "kx9#vq2w mt4@zr").status_code == 201


def test_an_operator_may_lower_the_single_factor_minimum_to_8_and_no_further(lenient_client, ctx):
    body = problem(try_sign_up(lenient_client, "kx9#vq2"), 422, "password_too_short")
    assert body["detail"] == "Use at least 8 characters"
    assert try_sign_up(lenient_client, "kx9#vq2w").status_code == 201

    with pytest.raises(ValueError, match="at least"):
        type(ctx.settings)(password_min_length=10, password_min_length_single_factor=9)
    with pytest.raises(ValueError):
        type(ctx.settings)(password_min_length_single_factor=7)


@pytest.mark.parametrize("password", ["1qaz2wsx3edc4rfv", "QAZWSXEDCRFVTGB", "123456789qwerty"])
def test_long_common_passwords_are_refused_with_the_reason(client, ctx, password):
    body = problem(try_sign_up(client, password), 422, "password_too_common")

    assert body["detail"] == "That password is one of the most common; choose another"
    assert count(ctx, User) == 0


@pytest.mark.parametrize(
    "password", ["password1", "qwerty123", "iloveyou2", "Password1", "PASSWORD1"]
)
def test_common_passwords_are_refused_whatever_their_case(lenient_client, ctx, password):
    problem(try_sign_up(lenient_client, password), 422, "password_too_common")
    assert count(ctx, User) == 0


@pytest.mark.parametrize(
    ("password", "extra"),
    [
        ("hanako_sato", {}),
        ("Hanako_Sato1", {}),
        ("mamori123", {}),
        ("Mamori_1!", {}),
        ("hanako_sato2026", {}),
        ("1234hanako_sato", {}),
        ("hanasan88", {"email": "hanasan88@example.com"}),
    ],
)
def test_the_username_the_e_mail_name_or_mamori_are_refused(lenient_client, password, extra):
    problem(try_sign_up(lenient_client, password, **extra), 422, "password_too_similar")


def test_without_two_factor_a_new_password_needs_15_characters(client):
    sign_up(client)
    token = log_in(client)

    refused = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "kx9#vq2w mt4@z"},
    )

    assert problem(refused, 422, "password_too_short")["detail"] == "Use at least 15 characters"
    assert log_in(client, password=PASSWORD)


def test_with_two_factor_on_8_characters_are_enough_for_a_new_password(client, clock):
    token, _, _ = user_with_app(client, clock)

    too_short = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "kx9#vq2"},
    )
    fourteen = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": PASSWORD, "new_password": "kx9#vq2w mt4@z"},
    )

    assert problem(too_short, 422, "password_too_short")["detail"] == "Use at least 8 characters"
    assert fourteen.status_code == 204, fourteen.text
    common = client.post(
        "/api/v1/me/password",
        headers=bearer(token),
        json={"current_password": "kx9#vq2w mt4@z", "new_password": "password1"},
    )
    body = problem(common, 422, "password_too_common")
    assert body["detail"] == "That password is one of the most common; choose another"


def test_a_passphrase_that_merely_contains_the_username_is_fine(client):
    assert try_sign_up(client, "hanako_sato walks her dog at dawn").status_code == 201


def test_long_passphrases_in_any_script_work(client):
    passphrases = [
        "a" * 40 + "🐱🐶 long passphrase over sixty-four chars " + "z" * 10,
        "吾輩は猫である。名前はまだ無い。どこで生れたかとんと見当がつかぬ。",
        "كلمة مرور طويلة بالعربية",  # right-to-left
        "e\u0301te\u0301 a\u0300 la plage de Nice",  # combining accents
    ]
    for number, password in enumerate(passphrases):
        sign_up(client, f"user{number}_x", password)
        assert log_in(client, f"user{number}_x", password)


def test_more_than_the_maximum_is_refused_with_the_limit_in_the_detail(client, ctx):
    body = problem(try_sign_up(client, "x9" * 129), 422, "password_too_long")

    assert body["detail"] == f"Use at most {ctx.settings.password_max_length} characters"


def test_a_password_typed_full_width_logs_in_half_width(client):
    """NFKC: a Japanese IME in full-width mode and a plain keyboard type one password."""
    sign_up(client, password="ｍｙ　ｓｅｃｒｅｔ　ｇａｒｄｅｎ　４２")

    assert log_in(client, password="my secret garden 42")
    assert log_in(client, password="ｍｙ　ｓｅｃｒｅｔ　ｇａｒｄｅｎ　４２")


def test_no_truncation_the_last_of_100_characters_counts(client):
    password = "p" * 99 + "1"
    sign_up(client, password=password)

    assert log_in(client, password=password)
    wrong = client.post("/api/v1/login", json={"login": "hana", "password": "p" * 99 + "2"})
    problem(wrong, 401, "invalid_credentials")


def test_no_case_folding_and_no_trimming(client):
    sign_up(client, password="Correct Horse Battery ")

    for variant in ("correct horse battery ", "Correct Horse Battery", " Correct Horse Battery "):
        response = client.post("/api/v1/login", json={"login": "hana", "password": variant})
        problem(response, 401, "invalid_credentials")
    assert log_in(client, password="Correct Horse Battery ")


@pytest.mark.production_hasher
def test_the_stored_hash_is_argon2id_at_owasp_parameters_or_stronger(client, ctx):
    sign_up(client)

    stored = stored_hash(ctx)

    assert stored.startswith("$argon2id$")
    assert argon2_parameters(stored)["m"] >= 19456
    assert argon2_parameters(stored)["t"] >= 2
    assert "correct" not in stored


@pytest.mark.production_hasher
def test_a_hash_at_old_parameters_is_upgraded_at_the_next_login(client, ctx):
    sign_up(client)
    weak = argon2.PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1)
    with ctx.database.session() as db:
        db.query(User).one().password_hash = weak.hash(PASSWORD)

    log_in(client)

    assert argon2_parameters(stored_hash(ctx))["m"] >= 19456
    assert log_in(client)


def stored_hash(ctx) -> str:
    with ctx.database.session() as db:
        return str(db.query(User).one().password_hash)


def argon2_parameters(stored: str) -> dict[str, int]:
    return {
        key: int(value) for key, value in (p.split("=") for p in stored.split("$")[3].split(","))
    }


def test_the_change_password_page_tells_the_minimum_for_this_account(client, clock):
    from tests.backup_codes.helpers import web_login

    token, _, _ = user_with_app(client, clock, "kenji")
    sign_up(client)
    page_path = "/accounts/center/password-and-security/password"

    web_login(client, log_in(client))
    assert "At least 15 characters" in client.get(page_path).text
    web_login(client, token)
    assert "At least 8 characters" in client.get(page_path).text
    assert "8文字以上" in client.get(page_path, headers={"Accept-Language": "ja"}).text
