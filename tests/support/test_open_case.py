"""Opening a case without logging in, over the API and the page: the same answer whether
or not the login names an account, an acknowledgement to the contact address, an alert to
the account's own addresses (with the contact masked), throttles."""

from __future__ import annotations

from sqlalchemy import select

from mamori.accounts.models import User
from mamori.support.models import SupportCase, SupportEvidence
from tests.core.helpers import app_client, csrf_from, events, problem, with_settings
from tests.support.helpers import (
    CONTACT,
    JPEG,
    PAGE,
    PDF,
    PNG,
    REFERENCE,
    evidence,
    make_user,
    open_case,
    opened_reference,
    outbox,
)


def stored_cases(ctx) -> list[SupportCase]:
    with ctx.database.session() as db:
        found = list(db.scalars(select(SupportCase).order_by(SupportCase.id)))
        db.expunge_all()
        return found


def test_a_case_over_the_api_is_stored_acknowledged_and_the_owner_alerted(client, ctx):
    make_user(ctx, "hana")
    files = [evidence("passport.png", PNG), evidence("licence.jpg", JPEG, "image/jpeg")]

    reference = opened_reference(open_case(client, login="hana", files=files))

    [case] = stored_cases(ctx)
    assert case.reference == reference and case.status == "open" and case.user_id is not None
    with ctx.database.session() as db:
        rows = list(db.scalars(select(SupportEvidence).order_by(SupportEvidence.position)))
        assert [(r.content_type, r.size) for r in rows] == [
            ("image/png", len(PNG)),
            ("image/jpeg", len(JPEG)),
        ]
    [ack] = outbox(client, CONTACT)
    assert reference in ack["subject"] and reference in ack["body"]
    assert "hana" not in ack["body"]  # nothing says which account, or that one exists
    [alert] = outbox(client, "hana@example.com")
    assert alert["subject"] == "A support case was opened for your account"
    assert CONTACT not in alert["body"] and "new.inbox" not in alert["body"]
    assert "n•••x@e•••.net" in alert["body"]  # masked, so the owner can recognize it
    [opened] = events(ctx, "support.case_opened")
    assert opened.details["case"] == reference and opened.details["matched"] is True
    assert opened.details["files"] == 2


def test_an_unknown_account_gets_the_same_answer_and_the_case_is_kept(client, ctx):
    make_user(ctx, "hana")

    known = open_case(client, login="hana", contact="a.person@example.net")
    unknown = open_case(client, login="nobody@example.org", contact="b.person@example.net")

    assert known.status_code == unknown.status_code == 202
    assert known.headers["content-type"] == unknown.headers["content-type"]
    assert set(known.json()) == set(unknown.json()) == {"reference"}
    assert REFERENCE.fullmatch(unknown.json()["reference"])
    cases = stored_cases(ctx)
    assert [c.user_id is None for c in cases] == [False, True]
    # Both contact addresses are acknowledged alike; only the real owner is alerted.
    ack_known = outbox(client, "a.person@example.net")[0]
    ack_unknown = outbox(client, "b.person@example.net")[0]
    assert ack_known["body"].replace(known.json()["reference"], "REF") == ack_unknown[
        "body"
    ].replace(unknown.json()["reference"], "REF")
    assert len(outbox(client, "hana@example.com")) == 1


def test_a_disabled_account_is_treated_as_no_account(client, ctx):
    user_id = make_user(ctx, "hana")
    with ctx.database.session() as db:
        user = db.get(User, user_id)
        user.disabled_at = ctx.clock.now()

    opened_reference(open_case(client, login="hana"))

    assert stored_cases(ctx)[0].user_id is None
    assert outbox(client, "hana@example.com") == []


def test_the_page_opens_a_case_with_a_png_in_a_multipart_form(client, ctx):
    hana = make_user(ctx, "hana")
    with ctx.database.session() as db:
        # Confirmed: only a confirmed address names an account.
        db.get(User, hana).email_confirmed_at = ctx.clock.now()
    page = client.get(PAGE)
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text
    assert (
        'name="evidence"' in page.text
        and 'accept="image/jpeg,image/png,application/pdf"' in page.text
    )

    answer = client.post(
        PAGE,
        data={
            "csrf_token": csrf_from(page),
            "login": "hana@example.com",
            "contact_email": CONTACT,
            "what_happened": "Phone stolen.\nI still know my password.",
        },
        files=[
            ("evidence", ("id-card.png", PNG, "image/png")),
            ("evidence", ("bill.pdf", PDF, "application/pdf")),
        ],
    )

    assert answer.status_code == 200, answer.text
    [case] = stored_cases(ctx)
    assert case.reference in answer.text
    assert case.user_id is not None
    with ctx.database.session() as db:
        types = list(
            db.scalars(select(SupportEvidence.content_type).order_by(SupportEvidence.position))
        )
    assert types == ["image/png", "application/pdf"]
    assert outbox(client, CONTACT)


def test_the_page_answers_an_unknown_account_alike(client, ctx):
    make_user(ctx, "hana")
    answers = []
    for login, contact in (("hana", "one@example.net"), ("nobody", "two@example.net")):
        page = client.get(PAGE)
        answer = client.post(
            PAGE,
            data={
                "csrf_token": csrf_from(page),
                "login": login,
                "contact_email": contact,
                "what_happened": "Lost everything.",
            },
            files=[("evidence", ("", b"", "application/octet-stream"))],  # an untouched field
        )
        assert answer.status_code == 200
        answers.append(REFERENCE.sub("REF", answer.text))
    assert answers[0] == answers[1]
    assert len(stored_cases(ctx)) == 2


def test_the_page_needs_its_csrf_token(client, ctx):
    client.get(PAGE)
    answer = client.post(
        PAGE,
        data={
            "csrf_token": "forged",
            "login": "hana",
            "contact_email": CONTACT,
            "what_happened": "x",
        },
        files=[("evidence", ("a.png", PNG, "image/png"))],
    )

    assert answer.status_code == 403
    assert stored_cases(ctx) == []


def test_a_page_error_keeps_what_was_typed_and_is_announced(client, ctx):
    page = client.get(PAGE)
    answer = client.post(
        PAGE,
        data={
            "csrf_token": csrf_from(page),
            "login": "hana",
            "contact_email": "not an address",
            "what_happened": "My story <b>here</b>",
        },
    )

    assert answer.status_code == 422
    assert 'role="alert"' in answer.text
    assert "My story &lt;b&gt;here&lt;/b&gt;" in answer.text
    assert stored_cases(ctx) == []


def test_opening_is_limited_per_ip(ctx):
    limited = with_settings(ctx, support_cases_per_ip_day=2)
    with app_client(limited) as client:
        for number in range(2):
            opened_reference(
                open_case(client, login=f"user{number}", contact=f"c{number}@example.net")
            )
        refused = open_case(client, login="user9", contact="c9@example.net")
        body = problem(refused, 429, "too_many_attempts")
        assert int(refused.headers["Retry-After"]) > 3600
        assert body["retry_after"] > 3600
        with app_client(limited, peer=("198.51.100.4", 5000)) as elsewhere:
            opened_reference(open_case(elsewhere, login="user9", contact="c9@example.net"))
    assert len(stored_cases(ctx)) == 3
    assert events(ctx, "support.case_refused")


def test_cases_naming_an_account_never_keep_its_owner_from_opening_one(ctx):
    """Three cases naming "hana" from a stranger used to refuse hana's own case for 24
    hours (429). Now only the caller is counted; the owner hears of 3 cases a day."""
    make_user(ctx, "hana")
    with app_client(ctx) as stranger:
        for number in range(4):
            opened_reference(open_case(stranger, login=" HANA ", contact=f"c{number}@example.net"))
    with app_client(ctx, peer=("198.51.100.4", 5000)) as owner:
        opened_reference(open_case(owner, login="hana", contact="hana.new@example.net"))
        alerts = outbox(owner, "hana@example.com")

    assert len(stored_cases(ctx)) == 5
    assert [a["subject"] for a in alerts] == ["A support case was opened for your account"] * 3


def test_one_contact_address_cannot_be_mailed_without_end(client, ctx):
    for number in range(3):
        opened_reference(open_case(client, login=f"user{number}", contact="victim@example.net"))

    problem(
        open_case(client, login="user7", contact="Victim@Example.net"), 429, "too_many_attempts"
    )
    assert len(outbox(client, "victim@example.net")) == 3


def test_the_owner_is_alerted_in_their_language_and_the_contact_in_the_askers(client, ctx):
    make_user(ctx, "hana", locale="ja")

    reference = opened_reference(
        client.post(
            "/api/v1/recovery/support-cases",
            json={"login": "hana", "contact_email": CONTACT, "what_happened": "lost it"},
            headers={"Accept-Language": "en"},
        )
    )

    [alert] = outbox(client, "hana@example.com")
    assert alert["subject"] == "あなたのアカウントについてサポートへの問い合わせがありました"
    assert reference in alert["body"] and "n•••x@e•••.net" in alert["body"]
    [ack] = outbox(client, CONTACT)
    assert ack["subject"] == f"We received your support case {reference}"
