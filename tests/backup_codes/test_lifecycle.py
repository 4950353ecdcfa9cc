"""The backup-code rules at the service level, on SQLite and PostgreSQL, in both modes."""

from __future__ import annotations

import re
from collections import Counter

import pytest
from sqlalchemy import select

from mamori.accounts.models import User
from mamori.audit.service import recent_events
from mamori.backup_codes import service
from mamori.backup_codes.errors import NoBackupCodes
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.core.errors import CodeAlreadyUsed, InvalidCode, ReauthenticationRequired
from tests.backup_codes.helpers import (
    ORIGIN,
    bodies,
    in_mode,
    make_codes,
    make_user,
    start,
    subjects,
    user_and_session,
    with_settings,
)

pytestmark = pytest.mark.both_databases

MODES = ["viewable", "hash_only"]


def use(ctx, user_id: int, typed: str) -> int:
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        return service.use_backup_code(db, ctx, ORIGIN, user, typed)


@pytest.mark.parametrize("mode", MODES)
def test_a_new_set_is_ten_distinct_eight_digit_codes(ctx, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    assert len(codes) == 10
    assert all(re.fullmatch(r"\d{4} \d{4}", code) for code in codes)
    assert len(set(codes)) == 10
    with ctx.database.session() as db:
        assert service.remaining_codes(db, user_id) == 10
        [event] = recent_events(db, user_id=user_id, event="backup_codes.generated")
        assert event.details == {"count": 10, "mode": mode}


def test_set_size_and_length_follow_the_settings(ctx):
    ctx = in_mode(ctx, "viewable")
    ctx = with_settings(ctx, backup_codes_count=5, backup_code_digits=10)
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    assert len(codes) == 5
    assert all(re.fullmatch(r"\d{5} \d{5}", code) for code in codes)
    assert use(ctx, user_id, codes[0].replace(" ", "")) == 4


def test_a_set_keeps_working_when_the_code_length_setting_changes(ctx):
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    ctx = with_settings(ctx, backup_code_digits=10)
    assert use(ctx, user_id, codes[0]) == 9


def test_a_hash_only_set_keeps_working_when_the_argon2_cost_is_raised(ctx):
    ctx = in_mode(ctx, "hash_only")
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    raised = {"argon2_time_cost": ctx.settings.argon2_time_cost + 1}
    raised["argon2_memory_kib"] = ctx.settings.argon2_memory_kib * 2
    ctx = with_settings(ctx, **raised)
    assert use(ctx, user_id, codes[0]) == 9
    fresh = make_codes(ctx, user_id)  # a new set takes the new cost
    with ctx.database.session() as db:
        assert db.scalar(select(BackupCodeSet.kdf_params)) == (
            f"t={raised['argon2_time_cost']},m={raised['argon2_memory_kib']},p=1"
        )
    assert use(ctx, user_id, fresh[0]) == 9


def test_generation_is_uniform_over_every_digit():
    # 2,000 codes = 16,000 digits; each digit value should appear ~1,600 times. A modulo
    # bias or a fixed prefix would push some far outside this generous band.
    digits = Counter("".join(service._new_codes(2000, 8)))
    assert set(digits) == set("0123456789")
    assert all(1300 < count < 1900 for count in digits.values()), digits


@pytest.mark.parametrize("mode", MODES)
def test_a_code_works_once_and_says_when_it_was_used(ctx, clock, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    used_at = clock.now()
    assert use(ctx, user_id, codes[3]) == 9
    clock.advance(hours=5)
    with pytest.raises(CodeAlreadyUsed) as again:
        use(ctx, user_id, codes[3])
    assert again.value.used_at == used_at
    assert again.value.extra == {"used_at": used_at.isoformat()}
    assert use(ctx, user_id, codes[4]) == 8


@pytest.mark.parametrize("mode", MODES)
def test_a_code_typed_in_any_notation_works(ctx, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    code = make_codes(ctx, user_id)[0]
    full_width = code.translate(str.maketrans("0123456789 ", "０１２３４５６７８９\u3000"))
    assert use(ctx, user_id, full_width) == 9
    with pytest.raises(CodeAlreadyUsed):
        use(ctx, user_id, code.replace(" ", "-"))


@pytest.mark.parametrize("mode", MODES)
def test_a_wrong_code_is_invalid_and_audited(ctx, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    wrong = next(c for c in ("0000 0000", "9999 9999", "1111 1111") if c not in codes)
    with pytest.raises(InvalidCode):
        use(ctx, user_id, wrong)
    with pytest.raises(InvalidCode):
        use(ctx, user_id, "not a code")
    with ctx.database.session() as db:
        failures = recent_events(db, user_id=user_id, event="backup_codes.use_failed")
        assert [e.outcome for e in failures] == ["failure", "failure"]
        assert service.remaining_codes(db, user_id) == 10


def test_a_code_only_works_for_its_own_account(ctx):
    hana = make_user(ctx, "hana")
    ken = make_user(ctx, "ken")
    hanas = make_codes(ctx, hana)
    make_codes(ctx, ken)
    with pytest.raises(InvalidCode):
        use(ctx, ken, hanas[0])
    assert use(ctx, hana, hanas[0]) == 9


def test_no_set_means_no_code_works(ctx):
    user_id = make_user(ctx)
    with pytest.raises(InvalidCode):
        use(ctx, user_id, "1234 5678")
    with ctx.database.session() as db:
        assert service.remaining_codes(db, user_id) is None


@pytest.mark.parametrize("mode", MODES)
def test_get_new_codes_invalidates_the_whole_old_set(ctx, mode):
    ctx = in_mode(ctx, mode)
    user_id = make_user(ctx)
    old = make_codes(ctx, user_id)
    use(ctx, user_id, old[0])
    session_id, _ = start(ctx, user_id)
    with ctx.database.session() as db:
        user, session = user_and_session(db, user_id, session_id)
        new = service.regenerate_backup_codes(db, ctx, ORIGIN, user, session)
    assert len(new) == 10
    for code in old[:3]:
        with pytest.raises(InvalidCode):
            use(ctx, user_id, code)
    assert use(ctx, user_id, new[0]) == 9
    with ctx.database.session() as db:
        assert db.scalar(select(BackupCodeSet.id).where(BackupCodeSet.user_id == user_id))
        assert len(db.scalars(select(BackupCode)).all()) == 10
        assert recent_events(db, user_id=user_id, event="backup_codes.regenerated")
    assert "You got new backup codes" in subjects(ctx, "hana@example.com")


def test_old_codes_stop_working_inside_the_swapping_transaction(ctx):
    user_id = make_user(ctx)
    old = make_codes(ctx, user_id)
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        service.generate_backup_codes(db, ctx, ORIGIN, user)
        with pytest.raises(InvalidCode):
            service.use_backup_code(db, ctx, ORIGIN, user, old[0])


def test_get_new_codes_needs_a_reauthentication_in_the_last_ten_minutes(ctx, clock):
    user_id = make_user(ctx)
    old = make_codes(ctx, user_id)
    session_id, _ = start(ctx, user_id)
    clock.advance(minutes=11)
    with pytest.raises(ReauthenticationRequired), ctx.database.session() as db:
        user, session = user_and_session(db, user_id, session_id)
        service.regenerate_backup_codes(db, ctx, ORIGIN, user, session)
    assert use(ctx, user_id, old[0]) == 9  # the old set is untouched


def test_get_new_codes_without_a_set_is_refused(ctx):
    user_id = make_user(ctx)
    session_id, _ = start(ctx, user_id)
    with pytest.raises(NoBackupCodes), ctx.database.session() as db:
        user, session = user_and_session(db, user_id, session_id)
        service.regenerate_backup_codes(db, ctx, ORIGIN, user, session)


def test_viewing_again_needs_reauthentication_is_audited_and_alerts_once(ctx, clock):
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    use(ctx, user_id, codes[1])
    session_id, _ = start(ctx, user_id)
    clock.advance(minutes=9)
    for _ in range(2):
        with ctx.database.session() as db:
            user, session = user_and_session(db, user_id, session_id)
            sheet = service.view_backup_codes(db, ctx, ORIGIN, user, session)
    assert [c.code for c in sheet.codes] == codes
    assert [c.used_at is not None for c in sheet.codes] == [i == 1 for i in range(10)]
    assert sheet.remaining == 9
    assert subjects(ctx, "hana@example.com").count("Your backup codes were viewed") == 1
    clock.advance(minutes=2)
    with pytest.raises(ReauthenticationRequired), ctx.database.session() as db:
        user, session = user_and_session(db, user_id, session_id)
        service.view_backup_codes(db, ctx, ORIGIN, user, session)
    with ctx.database.session() as db:
        views = recent_events(db, user_id=user_id, event="backup_codes.viewed")
        assert len(views) == 2
        assert all(e.details["revealed"] is True for e in views)


def test_hash_only_never_shows_a_code_after_creation(ctx):
    ctx = in_mode(ctx, "hash_only")
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    use(ctx, user_id, codes[0])
    session_id, _ = start(ctx, user_id)
    with ctx.database.session() as db:
        user, session = user_and_session(db, user_id, session_id)
        sheet = service.view_backup_codes(db, ctx, ORIGIN, user, session)
        rows = db.scalars(select(BackupCode)).all()
    assert sheet.viewable is False
    assert [c.code for c in sheet.codes] == [None] * 10
    assert sheet.remaining == 9
    assert all(row.sealed is None for row in rows)
    assert "Your backup codes were viewed" not in subjects(ctx, "hana@example.com")


def test_switching_to_hash_only_stops_showing_a_viewable_set(ctx):
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    strict = in_mode(ctx, "hash_only")
    session_id, _ = start(ctx, user_id)
    with strict.database.session() as db:
        user, session = user_and_session(db, user_id, session_id)
        sheet = service.view_backup_codes(db, strict, ORIGIN, user, session)
    assert [c.code for c in sheet.codes] == [None] * 10
    assert use(strict, user_id, codes[0]) == 9  # the set still works until it is replaced


def test_each_use_alerts_with_the_count_left_and_low_counts_say_get_new_codes(ctx):
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    for code in codes[:7]:
        use(ctx, user_id, code)
    assert subjects(ctx, "hana@example.com").count("Get new backup codes now") == 0
    assert "Unused backup codes left: 3." in bodies(ctx, "hana@example.com")[-1]
    assert use(ctx, user_id, codes[7]) == 2
    assert subjects(ctx, "hana@example.com")[-2:] == [
        "A backup code was used to log in",
        "Get new backup codes now",
    ]
    use(ctx, user_id, codes[8])
    assert use(ctx, user_id, codes[9]) == 0
    sent = subjects(ctx, "hana@example.com")
    assert sent.count("A backup code was used to log in") == 10
    assert sent.count("Get new backup codes now") == 3
    texts = "\n".join(bodies(ctx, "hana@example.com"))
    assert all(code not in texts and code.replace(" ", "") not in texts for code in codes)


def test_turning_two_factor_off_deletes_the_set(ctx):
    user_id = make_user(ctx)
    codes = make_codes(ctx, user_id)
    with ctx.database.session() as db:
        service.delete_backup_codes(db, user_id)
    with pytest.raises(InvalidCode):
        use(ctx, user_id, codes[0])
    with ctx.database.session() as db:
        assert service.remaining_codes(db, user_id) is None
        assert db.scalars(select(BackupCode)).all() == []
