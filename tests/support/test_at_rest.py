"""A database dump alone reveals neither what happened nor any evidence file, nor the
typed login, the file names, the contact address (in the case) or the operator's notes;
and a sealed value cannot be moved to another case."""

from __future__ import annotations

import base64

import pytest
from sqlalchemy import select, text, update

from mamori.core.crypto import SealBroken
from mamori.support import service
from mamori.support.models import SupportCase, SupportEvidence
from tests.backup_codes.test_at_rest import postgres_dump, sqlite_dump
from tests.support.helpers import (
    CONTACT,
    JPEG,
    ORIGIN,
    PDF,
    PNG,
    SECRET_WORDS,
    approve,
    deny,
    evidence,
    make_operator,
    make_user,
    open_case,
    opened_reference,
)

pytestmark = pytest.mark.both_databases

STORY = "My phone fell into the Kamo river near Demachiyanagi; backup codes were on it."
TYPED_LOGIN = "ghost.account@example.org"
FILE_NAME = "passport-hana-tanaka.png"
NOTE = "Matched against the selfie from 2024-03-02"
REASON = "Signature on the bill differs from the one on file"


def readable(data: bytes) -> list[str]:
    """How a file could show up in a dump: its telling words, raw or base64."""
    return [base64.b64encode(data).decode()[:40], data.hex()[:40]]


def test_nothing_a_case_holds_is_readable_in_a_database_dump(client, ctx):
    make_user(ctx, "hana")
    sora = make_operator(ctx)
    files = [evidence(FILE_NAME, PNG), evidence("licence.jpg", JPEG), evidence("bill.pdf", PDF)]
    approved = opened_reference(open_case(client, login="hana", what=STORY, files=files))
    denied = opened_reference(
        open_case(client, login=TYPED_LOGIN, contact="other@example.net", what=STORY)
    )
    approve(ctx, approved, sora, note=NOTE)
    deny(ctx, denied, sora, reason=REASON)

    dump = sqlite_dump(ctx) if ctx.database.is_sqlite else postgres_dump(ctx)

    assert "support_cases" in dump and approved in dump  # the dump did capture the cases
    for secret in [
        STORY,
        "Kamo river",
        SECRET_WORDS,
        "driving licence",
        "utility bill for flat 302",
        FILE_NAME,
        "passport-hana",
        TYPED_LOGIN,
        NOTE,
        REASON,
        *readable(PNG),
        *readable(JPEG),
        *readable(PDF),
    ]:
        assert secret not in dump, f"{secret!r} is readable in the dump"


def test_the_contact_address_is_sealed_in_the_case(client, ctx):
    reference = opened_reference(open_case(client, login="hana"))

    with ctx.database.engine.connect() as connection:
        row = connection.execute(
            text("SELECT * FROM support_cases WHERE reference = :r"), {"r": reference}
        ).one()
    stored = " ".join(str(value) for value in row)
    assert CONTACT not in stored and "new.inbox" not in stored
    assert "n•••x@e•••.net" in stored  # the masked form lists use


def test_a_sealed_story_or_file_cannot_be_moved_to_another_case(client, ctx):
    first = opened_reference(
        open_case(client, login="a", contact="a@example.net", files=[evidence("a.png", PNG)])
    )
    second = opened_reference(
        open_case(client, login="b", contact="b@example.net", files=[evidence("b.png", PNG)])
    )
    with ctx.database.session() as db:
        source = db.scalar(select(SupportCase).where(SupportCase.reference == first))
        source_file = db.scalar(select(SupportEvidence).where(SupportEvidence.case_id == source.id))
        target = db.scalar(select(SupportCase).where(SupportCase.reference == second))
        db.execute(
            update(SupportCase)
            .where(SupportCase.id == target.id)
            .values(what_happened_sealed=source.what_happened_sealed)
        )
        db.execute(
            update(SupportEvidence)
            .where(SupportEvidence.case_id == target.id)
            .values(sealed=source_file.sealed)
        )

    with pytest.raises(SealBroken), ctx.database.session() as db:
        service.view_case(db, ctx, ORIGIN, second, operator=None, via="test")
    with pytest.raises(SealBroken), ctx.database.session() as db:
        service.open_evidence(db, ctx, ORIGIN, second, 0, operator=None, via="test")
