"""The operator pages: anonymous → login, an account without the role → 403, approving
and denying need a recent "Confirm it's you", evidence is only ever a download."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from mamori.recovery.models import RecoveryAttempt
from mamori.support.models import SupportCase
from tests.core.helpers import count, events, shown
from tests.support.helpers import (
    CONTACT,
    PNG,
    STORY,
    evidence,
    log_in_browser,
    make_operator,
    make_user,
    open_case,
    opened_reference,
    outbox,
)

QUEUE = "/operator/support"


@pytest.fixture
def case(client, ctx) -> dict[str, object]:
    hana = make_user(ctx, "hana")
    sora = make_operator(ctx, "sora")
    reference = opened_reference(
        open_case(client, login="hana", files=[evidence("<img src=x onerror=alert(1)>.png", PNG)])
    )
    return {"reference": reference, "hana": hana, "sora": sora, "path": f"{QUEUE}/{reference}"}


def status_of(ctx, reference) -> str:
    with ctx.database.session() as db:
        return str(db.scalar(select(SupportCase.status).where(SupportCase.reference == reference)))


def every_page(case) -> list[tuple[str, str]]:
    path = case["path"]
    return [
        ("GET", QUEUE),
        ("GET", path),
        ("GET", f"{path}/evidence/0"),
        ("POST", f"{path}/approve"),
        ("POST", f"{path}/deny"),
    ]


def test_anonymous_visitors_are_sent_to_log_in(client, ctx, case):
    client.get("/login")  # a CSRF cookie, as a browser would have
    token = client.cookies.get("mamori_csrf")
    for method, path in every_page(case):
        answer = client.request(
            method,
            path,
            data={"csrf_token": token, "reason": "x"} if method == "POST" else None,
            follow_redirects=False,
        )
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=")
    assert status_of(ctx, case["reference"]) == "open"
    assert events(ctx, "support.case_viewed") == []


def test_an_account_without_the_operator_role_gets_403(client, ctx, case):
    csrf = log_in_browser(client, ctx, case["hana"])
    for method, path in every_page(case):
        answer = client.request(
            method,
            path,
            data={"csrf_token": csrf, "reason": "x"} if method == "POST" else None,
            follow_redirects=False,
        )
        assert answer.status_code == 403, path
        assert "This page is for operators only" in answer.text
        assert STORY not in answer.text and CONTACT not in answer.text
    assert status_of(ctx, case["reference"]) == "open"
    assert events(ctx, "support.case_viewed") == []


def test_an_operator_sees_the_queue_and_the_case(client, ctx, case):
    log_in_browser(client, ctx, case["sora"])

    queue = client.get(QUEUE)
    assert queue.status_code == 200
    assert case["reference"] in queue.text and "n•••x@e•••.net" in shown(queue)
    assert STORY not in queue.text

    page = client.get(case["path"].lower())
    assert page.status_code == 200
    text = shown(page)
    assert STORY in text and CONTACT in text
    # A hostile file name stays text.
    assert "&lt;img src=x onerror=alert(1)&gt;.png" in page.text
    assert "<img src=x" not in page.text
    assert page.headers["cache-control"] == "no-store"
    # Photos are shown on the page; every file is also a download.
    assert f'<img src="{case["path"]}/evidence/0"' in page.text
    assert f'href="{case["path"]}/evidence/0" download' in page.text
    [viewed] = events(ctx, "support.case_viewed")
    assert viewed.user_id == case["sora"] and viewed.details["via"] == "page"


def test_evidence_is_a_download_that_no_browser_sniffs_or_runs(client, ctx, case):
    log_in_browser(client, ctx, case["sora"])

    file = client.get(f"{case['path']}/evidence/0")

    assert file.status_code == 200
    assert file.content == PNG
    assert file.headers["content-type"] == "image/png"
    assert file.headers["content-disposition"].startswith("attachment;")
    assert file.headers["x-content-type-options"] == "nosniff"
    assert file.headers["cache-control"] == "no-store"
    assert "sandbox" in file.headers["content-security-policy"]
    [opened] = events(ctx, "support.evidence_viewed")
    assert opened.user_id == case["sora"] and opened.details["file"] == 0
    assert client.get(f"{case['path']}/evidence/7").status_code == 404
    assert client.get(f"{QUEUE}/AAAA-BBBB-CCCC").status_code == 404


def test_approving_needs_a_recent_reauthentication(client, ctx, case):
    csrf = log_in_browser(client, ctx, case["sora"])
    ctx.clock.advance(minutes=11)

    answer = client.post(
        f"{case['path']}/approve", data={"csrf_token": csrf}, follow_redirects=False
    )
    denial = client.post(
        f"{case['path']}/deny", data={"csrf_token": csrf, "reason": "x"}, follow_redirects=False
    )

    for response in (answer, denial):
        assert response.status_code == 303
        assert response.headers["location"].startswith("/reauthenticate?next=")
    assert status_of(ctx, case["reference"]) == "open"
    assert count(ctx, RecoveryAttempt) == 0


def test_an_operator_approves_from_the_page(client, ctx, case):
    csrf = log_in_browser(client, ctx, case["sora"])

    answer = client.post(
        f"{case['path']}/approve",
        data={"csrf_token": csrf, "note": "ID photo matches"},
        follow_redirects=False,
    )

    assert answer.status_code == 303 and answer.headers["location"] == case["path"]
    assert status_of(ctx, case["reference"]) == "approved"
    assert "/recovery/support/" in outbox(client, CONTACT)[0]["body"]
    [approved] = events(ctx, "support.case_approved")
    assert approved.user_id == case["sora"]
    page = client.get(case["path"])
    assert "ID photo matches" in page.text and 'action="' + case["path"] + '/deny"' not in page.text


def test_deny_then_approve_on_the_page_is_409(client, ctx, case):
    csrf = log_in_browser(client, ctx, case["sora"])
    denied = client.post(
        f"{case['path']}/deny",
        data={"csrf_token": csrf, "reason": "Could not verify"},
        follow_redirects=False,
    )
    assert denied.status_code == 303

    again = client.post(f"{case['path']}/approve", data={"csrf_token": csrf})

    assert again.status_code == 409
    assert "This support case is already closed" in again.text
    assert count(ctx, RecoveryAttempt) == 0
    assert [e.user_id for e in events(ctx, "support.case_denied")] == [case["sora"]]


def test_a_denial_needs_a_reason(client, ctx, case):
    csrf = log_in_browser(client, ctx, case["sora"])

    answer = client.post(f"{case['path']}/deny", data={"csrf_token": csrf, "reason": "  "})

    assert answer.status_code == 422
    assert status_of(ctx, case["reference"]) == "open"


def test_an_operator_cannot_approve_their_own_case_on_the_page(client, ctx, case):
    reference = opened_reference(open_case(client, login="sora", contact="sora.new@example.net"))
    csrf = log_in_browser(client, ctx, case["sora"])

    page = client.get(f"{QUEUE}/{reference}")
    assert "another operator must decide it" in page.text
    assert "/approve" not in page.text
    answer = client.post(f"{QUEUE}/{reference}/approve", data={"csrf_token": csrf})

    assert answer.status_code == 409
    assert status_of(ctx, reference) == "open"


def test_the_forms_need_their_csrf_token(client, ctx, case):
    log_in_browser(client, ctx, case["sora"])

    answer = client.post(f"{case['path']}/approve", data={"csrf_token": "forged"})

    assert answer.status_code == 403
    assert status_of(ctx, case["reference"]) == "open"
