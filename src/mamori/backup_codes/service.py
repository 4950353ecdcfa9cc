"""Backup codes: generate a set, view it again, get new codes, spend one at login.

Rules (DESIGN.md "Backup codes"): codes come from `secrets`, uniform and distinct within
a set; only digests are stored (see models.py); a code is spent by one conditional UPDATE
that counts only when exactly one row changed; "Get new codes" swaps the whole set in one
transaction. Second-factor failure counting belongs to the login challenge, not here.
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from argon2.low_level import Type, hash_secret_raw
from sqlalchemy import CursorResult, delete, func, select, update
from sqlalchemy.orm import Session

from mamori.accounts.models import User
from mamori.audit.service import Origin, recent_events, record_event
from mamori.backup_codes.errors import NoBackupCodes
from mamori.backup_codes.models import BackupCode, BackupCodeSet
from mamori.context import Context
from mamori.core.crypto import SealBroken
from mamori.core.errors import CodeAlreadyUsed, InvalidCode
from mamori.notifications.service import alert_user
from mamori.sessions.models import LoginSession
from mamori.sessions.service import require_recent_reauthentication

log = logging.getLogger("mamori")

DIGEST_PURPOSE = "backup-code"
# Longer input is not a code, however it is spaced: refuse it before doing any work.
MAX_TYPED_LENGTH = 64
# What people type between digit groups, after NFKC: hyphen-minus, Unicode hyphens and
# dashes, minus sign, and the katakana prolonged sound mark a Japanese IME gives for "-".
SEPARATORS = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc")
ASCII_DIGITS = re.compile(r"[0-9]+", re.ASCII)
LOW_REMAINING = 2
SECURITY_PAGE = "/accounts/center/password-and-security/two-factor/backup-codes"


@dataclass(frozen=True)
class ShownCode:
    """One row of the sheet. `code` is None where its value is not kept (hash_only mode)."""

    code: str | None
    used_at: datetime | None


@dataclass(frozen=True)
class BackupCodeSheet:
    codes: list[ShownCode]
    remaining: int
    created_at: datetime
    # False in hash_only mode: the codes were shown once, at creation, and never again.
    viewable: bool


def normalize_backup_code(typed: str, digits: int) -> str:
    """The code's digits from what a person typed, or InvalidCode.

    NFKC first, so full-width digits and spaces from a Japanese IME (１２３４　５６７８)
    become ASCII; then spaces and hyphens go. Whatever is left must be exactly `digits`
    ASCII digits. Digits of other scripts (Arabic-Indic ١٢٣٤, Devanagari …) are refused on
    purpose: NFKC keeps them, codes are only ever printed in ASCII digits, and mapping every
    script's digits would widen what counts as a code for no user of ours.
    """
    if len(typed) > MAX_TYPED_LENGTH:
        raise InvalidCode()
    text = unicodedata.normalize("NFKC", typed)
    kept = "".join(ch for ch in text if not ch.isspace() and ch not in SEPARATORS)
    if len(kept) != digits or not ASCII_DIGITS.fullmatch(kept):
        raise InvalidCode()
    return kept


def format_backup_code(code: str) -> str:
    """Digits in groups a person can read back: 1234 5678, 123 456 789, 12345 67890."""
    length = len(code)
    size = 4 if length % 4 == 0 else 3 if length % 3 == 0 else -(-length // 2)
    return " ".join(code[start : start + size] for start in range(0, length, size))


def generate_backup_codes(db: Session, ctx: Context, origin: Origin, user: User) -> list[str]:
    """A new set of ctx.settings.backup_codes_count codes, replacing any old set in this
    transaction. Returns the codes for display ("1234 5678"); in hash_only mode this is the
    only time they exist in clear."""
    code_set, codes = _replace_set(db, ctx, user)
    record_event(
        db,
        ctx.clock,
        "backup_codes.generated",
        origin,
        user_id=user.id,
        count=len(codes),
        mode=code_set.mode,
    )
    return [format_backup_code(code) for code in codes]


def regenerate_backup_codes(
    db: Session, ctx: Context, origin: Origin, user: User, caller_session: LoginSession
) -> list[str]:
    """Get new codes: needs a reauthentication in the last 10 minutes; the old set stops
    working the moment the new one exists. NoBackupCodes when there is no set to replace
    (the first set comes with turning two-factor on)."""
    require_recent_reauthentication(ctx.clock, ctx.settings, caller_session)
    if _current_set(db, user.id) is None:
        raise NoBackupCodes()
    code_set, codes = _replace_set(db, ctx, user)
    record_event(
        db,
        ctx.clock,
        "backup_codes.regenerated",
        origin,
        user_id=user.id,
        count=len(codes),
        mode=code_set.mode,
        session=caller_session.public_id,
    )
    _alert(
        db,
        ctx,
        user,
        "You got new backup codes",
        "New backup codes were made for your account. Your old backup codes no longer work.",
    )
    return [format_backup_code(code) for code in codes]


def view_backup_codes(
    db: Session,
    ctx: Context,
    origin: Origin,
    user: User,
    caller_session: LoginSession,
    via: str = "page",
) -> BackupCodeSheet:
    """The current set with what is used and when; needs a reauthentication in the last
    10 minutes. Audited every time; the user is alerted on the first view after each
    reauthentication of a session (not on every reload, download and print). `via` says
    how (page, download, print, api) in the audit log.

    In hash_only mode no code value is kept, so the sheet lists the codes without values
    (`code` None) and only their used state; nothing is revealed and no alert is sent.
    """
    require_recent_reauthentication(ctx.clock, ctx.settings, caller_session)
    sheet = backup_code_sheet(db, ctx, user)
    first_view = not _viewed_since_reauthentication(db, user.id, caller_session)
    record_event(
        db,
        ctx.clock,
        "backup_codes.viewed",
        origin,
        user_id=user.id,
        revealed=sheet.viewable,
        via=via,
        session=caller_session.public_id,
    )
    if sheet.viewable and first_view:
        _alert(
            db,
            ctx,
            user,
            "Your backup codes were viewed",
            "Your backup codes were just viewed in Accounts Center. "
            "Unused backup codes: %(remaining)s.",
            remaining=sheet.remaining,
        )
    return sheet


def use_backup_code(db: Session, ctx: Context, origin: Origin, user: User, typed: str) -> int:
    """Spend one code at login; returns how many remain.

    InvalidCode when the input is not a code or matches none of the user's current set;
    CodeAlreadyUsed(used_at) when it was spent before (also by a request racing this one).
    The second-factor failure counter is the login challenge's business, not this one's.
    """
    # The user row first, as "Get new codes" does: otherwise a use holding its code row
    # and a swap holding the user row wait on each other, and PostgreSQL answers one of
    # them with a deadlock error (a 503 to a person who typed a good code).
    _lock_user(db, user.id)
    code_set = _current_set(db, user.id)
    try:
        if code_set is None:
            raise InvalidCode()
        code = normalize_backup_code(typed, code_set.digits)
        code_id = db.scalar(
            select(BackupCode.id).where(
                BackupCode.set_id == code_set.id,
                BackupCode.digest == _digest(ctx, code_set, user.id, code),
            )
        )
        if code_id is None:
            raise InvalidCode()
        _spend(db, ctx, code_id)
    except (InvalidCode, CodeAlreadyUsed) as error:
        record_event(
            db,
            ctx.clock,
            "backup_codes.use_failed",
            origin,
            user_id=user.id,
            outcome="failure",
            reason=error.code,
        )
        raise
    assert code_set is not None
    remaining = _count_unused(db, code_set.id)
    record_event(db, ctx.clock, "backup_codes.used", origin, user_id=user.id, remaining=remaining)
    _alert(
        db,
        ctx,
        user,
        "A backup code was used to log in",
        "A backup code was just used to log in to your account. "
        "Unused backup codes left: %(remaining)s.",
        remaining=remaining,
    )
    if remaining <= LOW_REMAINING:
        _alert(
            db,
            ctx,
            user,
            "Get new backup codes now",
            "Unused backup codes left: %(remaining)s. Get new codes now, so you can still "
            "log in if you lose your phone: %(link)s",
            remaining=remaining,
            link=ctx.settings.base_url.rstrip("/") + SECURITY_PAGE,
        )
    return remaining


def remaining_codes(db: Session, user_id: int) -> int | None:
    """How many unused codes the user has, or None when they have no set."""
    code_set = _current_set(db, user_id)
    return None if code_set is None else _count_unused(db, code_set.id)


def delete_backup_codes(db: Session, user_id: int) -> None:
    """Remove the user's set (two-factor turned off; the caller audits that): none of its
    codes works afterwards."""
    _lock_user(db, user_id)
    _delete_set(db, user_id)


def backup_code_sheet(db: Session, ctx: Context, user: User) -> BackupCodeSheet:
    """The current set for display. No reauthentication check: callers do that."""
    code_set = _current_set(db, user.id)
    if code_set is None:
        raise NoBackupCodes()
    viewable = code_set.mode == "viewable" and ctx.settings.backup_codes_mode == "viewable"
    rows = db.scalars(
        select(BackupCode).where(BackupCode.set_id == code_set.id).order_by(BackupCode.position)
    ).all()
    codes = [
        ShownCode(_unseal(ctx, user.id, code_set.id, row) if viewable else None, row.used_at)
        for row in rows
    ]
    remaining = sum(1 for row in rows if row.used_at is None)
    return BackupCodeSheet(codes, remaining, code_set.created_at, viewable)


# --- inside the rules -------------------------------------------------------------------


def _new_codes(count: int, digits: int) -> list[str]:
    """Uniform over 0 … 10^digits - 1 (randbelow has no modulo bias), distinct in the set."""
    codes: dict[str, None] = {}
    while len(codes) < count:
        codes[f"{secrets.randbelow(10**digits):0{digits}d}"] = None
    return list(codes)


def _replace_set(db: Session, ctx: Context, user: User) -> tuple[BackupCodeSet, list[str]]:
    _lock_user(db, user.id)
    _delete_set(db, user.id)
    mode = ctx.settings.backup_codes_mode
    code_set = BackupCodeSet(
        user_id=user.id,
        mode=mode,
        digits=ctx.settings.backup_code_digits,
        salt=secrets.token_hex(16) if mode == "hash_only" else None,
        kdf_params=_kdf_params(ctx) if mode == "hash_only" else None,
        created_at=ctx.clock.now(),
    )
    db.add(code_set)
    db.flush()
    codes = _new_codes(ctx.settings.backup_codes_count, code_set.digits)
    for position, code in enumerate(codes):
        sealed = None
        if mode == "viewable":
            sealed = ctx.keyring.seal(code, context=_seal_context(user.id, code_set.id))
        digest = _digest(ctx, code_set, user.id, code)
        db.add(BackupCode(set_id=code_set.id, position=position, digest=digest, sealed=sealed))
    db.flush()
    return code_set, codes


def _lock_user(db: Session, user_id: int) -> None:
    """Serialize set swaps and code uses per user (PostgreSQL row lock; SQLite's BEGIN
    IMMEDIATE already does), so two "Get new codes" at once cannot both insert a set.

    FOR NO KEY UPDATE: rows that merely reference the user (audit events, sessions,
    outbox) take KEY SHARE on it, which this lock lets through, so they never queue
    behind it."""
    db.execute(select(User.id).where(User.id == user_id).with_for_update(key_share=True))


def _delete_set(db: Session, user_id: int) -> None:
    old_ids = select(BackupCodeSet.id).where(BackupCodeSet.user_id == user_id)
    # "fetch" keeps the session's identity map true: SQLite may hand a deleted id out again.
    db.execute(
        delete(BackupCode).where(BackupCode.set_id.in_(old_ids)),
        execution_options={"synchronize_session": "fetch"},
    )
    db.execute(
        delete(BackupCodeSet).where(BackupCodeSet.user_id == user_id),
        execution_options={"synchronize_session": "fetch"},
    )


def _current_set(db: Session, user_id: int) -> BackupCodeSet | None:
    return db.scalar(select(BackupCodeSet).where(BackupCodeSet.user_id == user_id))


def _digest(ctx: Context, code_set: BackupCodeSet, user_id: int, code: str) -> str:
    """viewable: HMAC-SHA256(pepper, user id ‖ code), found by its unique index.

    hash_only: argon2id over that keyed digest with the set's salt — one KDF per attempt,
    found by the same index whatever the set size; the pepper means a dump alone cannot
    even be brute-forced (NIST SP 800-63B §5.1.1.2 "secret salt").
    """
    keyed = ctx.keyring.keyed_digest(DIGEST_PURPOSE, str(user_id), code)
    if code_set.mode == "viewable":
        return keyed
    assert code_set.salt is not None and code_set.kdf_params is not None
    cost = dict(part.split("=") for part in code_set.kdf_params.split(","))
    return hash_secret_raw(
        keyed.encode(),
        bytes.fromhex(code_set.salt),
        time_cost=int(cost["t"]),
        memory_cost=int(cost["m"]),
        parallelism=int(cost["p"]),
        hash_len=32,
        type=Type.ID,
    ).hex()


def _kdf_params(ctx: Context) -> str:
    settings = ctx.settings
    return (
        f"t={settings.argon2_time_cost},m={settings.argon2_memory_kib},"
        f"p={settings.argon2_parallelism}"
    )


def _spend(db: Session, ctx: Context, code_id: int) -> None:
    """The one conditional UPDATE: it counts only when exactly one row changed."""
    result = db.execute(
        update(BackupCode)
        .where(BackupCode.id == code_id, BackupCode.used_at.is_(None))
        .values(used_at=ctx.clock.now()),
        execution_options={"synchronize_session": False},
    )
    if cast(CursorResult[Any], result).rowcount == 1:
        return
    used_at = db.scalar(select(BackupCode.used_at).where(BackupCode.id == code_id))
    if used_at is None:  # the set was replaced a moment ago
        raise InvalidCode()
    raise CodeAlreadyUsed(used_at)


def _count_unused(db: Session, set_id: int) -> int:
    query = select(func.count()).where(BackupCode.set_id == set_id, BackupCode.used_at.is_(None))
    return int(db.scalar(query) or 0)


def _seal_context(user_id: int, set_id: int) -> str:
    return f"backup-code:{user_id}:{set_id}"


def _unseal(ctx: Context, user_id: int, set_id: int, row: BackupCode) -> str | None:
    if row.sealed is None:
        return None
    try:
        return format_backup_code(ctx.keyring.unseal(row.sealed, _seal_context(user_id, set_id)))
    except SealBroken:
        log.warning("backup code %s of set %s does not unseal", row.id, set_id)
        return None


def _viewed_since_reauthentication(db: Session, user_id: int, session: LoginSession) -> bool:
    since = session.reauthenticated_at
    if since is None:
        return False
    return any(
        event.at >= since and event.details.get("session") == session.public_id
        for event in recent_events(db, user_id=user_id, event="backup_codes.viewed", limit=20)
    )


def _alert(
    db: Session, ctx: Context, user: User, subject: str, body: str, **values: object
) -> None:
    alert_user(db, ctx, user, subject, body, **values)
