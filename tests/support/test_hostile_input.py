"""Hostile input to the open-a-case routes: a clear 4xx with a stable code, nothing stored,
nothing counted, nothing sent; and the larger body limit stays on these two routes only."""

from __future__ import annotations

import json

import pytest
from httpx import Response

from mamori.core.throttle import ThrottleCounter
from mamori.notifications.models import OutboxMessage
from mamori.support import service
from mamori.support.models import SupportCase, SupportEvidence
from tests.core.helpers import app_client, count, csrf_from, problem, with_settings
from tests.support.helpers import (
    CASES,
    JPEG,
    ORIGIN,
    PAGE,
    PDF,
    PNG,
    b64,
    case_body,
    evidence,
    make_user,
    opened_reference,
)

pytestmark = pytest.mark.both_databases

MIB = 1024 * 1024


def post(client, body) -> Response:
    # json.dumps keeps a lone surrogate as \ud800, as a hostile client would send it.
    response: Response = client.post(
        CASES, content=json.dumps(body), headers={"Content-Type": "application/json"}
    )
    return response


def unsealed(ctx, reference: str) -> service.CaseDetails:
    with ctx.database.session() as db:
        return service.view_case(db, ctx, ORIGIN, reference, operator=None, via="test")


def nothing_stored(ctx) -> None:
    assert count(ctx, SupportCase) == 0
    assert count(ctx, SupportEvidence) == 0
    assert count(ctx, OutboxMessage) == 0
    assert count(ctx, ThrottleCounter) == 0


@pytest.fixture
def small_limit(ctx):
    """A 64 KiB evidence limit, so "too large" needs no megabytes in the test."""
    with app_client(with_settings(ctx, support_evidence_max_bytes=64 * 1024)) as client:
        yield client


def test_files_over_the_limit_together_are_413_and_nothing_is_stored(small_limit, ctx):
    half = PNG + b"\x00" * (40 * 1024)
    body = case_body(files=[evidence("a.png", half), evidence("b.png", half)])

    problem(post(small_limit, body), 413, "evidence_too_large")
    nothing_stored(ctx)


def test_one_file_over_the_limit_is_413_before_it_is_decoded(small_limit, ctx):
    body = case_body(files=[evidence("a.png", PNG + b"\x00" * (70 * 1024))])

    problem(post(small_limit, body), 413, "evidence_too_large")
    nothing_stored(ctx)


def test_a_request_over_the_route_limit_is_413_payload_too_large(small_limit, ctx):
    body = case_body(files=[evidence("a.png", PNG + b"\x00" * (200 * 1024))])

    problem(post(small_limit, body), 413, "payload_too_large")
    nothing_stored(ctx)


def test_five_mib_of_evidence_is_accepted_by_default_but_not_more(client, ctx):
    make_user(ctx, "hana")
    fits = PNG + b"\x00" * (5 * MIB - len(PNG))
    opened_reference(post(client, case_body(files=[evidence("scan.png", fits)])))

    too_much = case_body(contact="other@example.net", files=[evidence("scan.png", fits + b"\x00")])
    problem(post(client, too_much), 413, "evidence_too_large")
    assert count(ctx, SupportCase) == 1


def test_other_routes_keep_the_64_kib_limit(client):
    big = {"login": "hana", "password": "x" * (100 * 1024)}
    problem(client.post("/api/v1/login", json=big), 413, "payload_too_large")
    problem(
        client.post("/recovery/support/extra", content=b"x" * (100 * 1024)),
        413,
        "payload_too_large",
    )


def test_the_page_refuses_files_over_the_limit_with_413(ctx):
    with app_client(with_settings(ctx, support_evidence_max_bytes=64 * 1024)) as client:
        page = client.get(PAGE)
        answer = client.post(
            PAGE,
            data={
                "csrf_token": csrf_from(page),
                "login": "hana",
                "contact_email": "me@example.net",
                "what_happened": "x",
            },
            files=[("evidence", ("big.png", PNG + b"\x00" * (70 * 1024), "image/png"))],
        )
    assert answer.status_code == 413
    assert 'role="alert"' in answer.text
    nothing_stored(ctx)


@pytest.mark.parametrize(
    ("data", "claimed"),
    [
        (b"<html><script>alert(1)</script></html>", "image/png"),
        (b"MZ\x90\x00 an executable", "application/pdf"),
        (b"GIF89a\x01\x00\x01\x00", "image/gif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>", "image/png"),
        (b"\x89PNX not quite", "image/png"),
    ],
)
def test_the_type_is_decided_by_the_first_bytes_not_the_claim(client, ctx, data, claimed):
    body = case_body(files=[evidence("photo.png", data, claimed)])

    problem(post(client, body), 422, "evidence_type_not_allowed")
    nothing_stored(ctx)


def test_a_real_file_with_a_wrong_claim_is_stored_as_what_it_is(client, ctx):
    from sqlalchemy import select

    opened_reference(post(client, case_body(files=[evidence("x.exe", PDF, "text/html")])))

    with ctx.database.session() as db:
        assert db.scalar(select(SupportEvidence.content_type)) == "application/pdf"


def test_the_page_refuses_a_file_that_is_not_what_it_claims(client, ctx):
    page = client.get(PAGE)
    answer = client.post(
        PAGE,
        data={
            "csrf_token": csrf_from(page),
            "login": "hana",
            "contact_email": "me@example.net",
            "what_happened": "x",
        },
        files=[("evidence", ("photo.png", b"<script>alert(1)</script>", "image/png"))],
    )
    assert answer.status_code == 422
    assert "<script>alert(1)</script>" not in answer.text
    nothing_stored(ctx)


def test_more_than_three_files_are_refused(client, ctx):
    body = case_body(files=[evidence(f"{n}.png", PNG) for n in range(4)])

    problem(post(client, body), 422, "too_many_files")
    nothing_stored(ctx)


@pytest.mark.parametrize(
    "data_base64",
    ["not base64 at all!", "iVBORw0KGgo=garbage", "====", "\x00", "😀😀😀😀", "\ud800\ud800"],
)
def test_bad_base64_is_422(client, ctx, data_base64):
    file = {"filename": "a.png", "content_type": "image/png", "data_base64": data_base64}

    response = post(client, case_body(files=[file]))

    assert response.status_code == 422, response.text
    assert response.json()["code"] in ("invalid_evidence", "invalid_request")
    nothing_stored(ctx)


def test_an_empty_file_is_422(client, ctx):
    file = {"filename": "a.png", "content_type": "image/png", "data_base64": b64(b"")}
    response = post(client, case_body(files=[file]))
    assert response.status_code == 422
    nothing_stored(ctx)


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("what_happened", "lost\x00phone", "invalid_description"),
        ("what_happened", "x" * 10_000, "invalid_request"),
        ("what_happened", "   ", "invalid_description"),
        ("what_happened", "\ud800 lone surrogate", "invalid_request"),
        ("what_happened", "bell\x07 and escape\x1b[31m", "invalid_description"),
        ("login", "hana\x00", "invalid_login"),
        ("login", "\ud800", "invalid_request"),
        ("login", "x" * 10_000, "invalid_request"),
        ("contact_email", "me\x00@example.net", "invalid_email"),
        ("contact_email", "\ud800@example.net", "invalid_request"),
        ("contact_email", "<script>@example.net", "invalid_email"),
        ("contact_email", "x" * 10_000, "invalid_request"),
        ("contact_email", 12345, "invalid_request"),
        ("evidence", "not a list", "invalid_request"),
        ("evidence", [{"filename": "a.png"}], "invalid_request"),
    ],
)
def test_hostile_fields_are_a_clear_4xx_and_store_nothing(client, ctx, field, value, code):
    response = post(client, {**case_body(), field: value})

    problem(response, 422, code)
    nothing_stored(ctx)


@pytest.mark.parametrize(
    "text",
    [
        "😀👨‍👩‍👧‍👦 family emoji",
        "\u202egnp.exe right-to-left override",
        "e\u0301\u0302\u0303\u0304 combining marks",
        "<script>alert(1)</script> ' OR 1=1 --",
        "全角の文字と改行\nもう一行",
    ],
)
def test_odd_unicode_in_the_story_is_just_text(client, ctx, text):
    reference = opened_reference(post(client, case_body(what=text)))

    assert unsealed(ctx, reference).what_happened == text.strip()


@pytest.mark.parametrize(
    ("filename", "kept"),
    [
        ("../../etc/passwd.jpg", "passwd.jpg"),
        ("C:\\Users\\hana\\scan.JPEG", "scan.JPEG"),
        ("\u202egnp.exe", "gnp.exe.jpg"),  # no override, and named for what it is
        ("invoice.pdf.exe", "invoice.pdf.exe.jpg"),
        ("a\x00b.jpg", "ab.jpg"),
        ("", "evidence-1.jpg"),
        ("...", "evidence-1.jpg"),
    ],
)
def test_file_names_are_kept_without_folders_or_tricks(client, ctx, filename, kept):
    reference = opened_reference(post(client, case_body(files=[evidence(filename, JPEG)])))

    assert [f.filename for f in unsealed(ctx, reference).evidence] == [kept]


def test_a_garbled_multipart_body_is_a_4xx_page(client, ctx):
    client.get(PAGE)
    answer = client.post(
        PAGE,
        content=b"--xyz\r\nContent-Disposition: form-data\r\n\r\nbroken",
        headers={"Content-Type": "multipart/form-data; boundary=xyz"},
    )
    assert 400 <= answer.status_code < 500
    nothing_stored(ctx)
