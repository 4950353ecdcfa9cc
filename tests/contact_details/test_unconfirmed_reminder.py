"""contact_details/_unconfirmed.html: a warning until the addresses are confirmed."""

from __future__ import annotations

import html
from types import SimpleNamespace

from mamori.app import create_app


def reminder(ctx, **user: object) -> str:
    app = create_app(context=ctx)
    template = app.state.templates.get_template("contact_details/_unconfirmed.html")
    fields = {"email": None, "email_confirmed_at": None, "phone": None, "phone_confirmed_at": None}
    return html.unescape(
        template.render(
            user=SimpleNamespace(**(fields | user)),
            path_for=lambda name, **_: f"/{name}",
            phone_number=lambda phone: f"[{phone}]",
            _=lambda text, **values: text % values if values else text,
        )
    )


def test_an_unconfirmed_e_mail_is_a_warning_with_a_link_to_confirm(ctx):
    shown = reminder(ctx, email="hana@example.com")

    assert 'class="alert warning"' in shown
    assert "hana@example.com isn't confirmed yet" in shown
    assert 'href="/confirm_address_page"' in shown


def test_an_unconfirmed_phone_is_named_as_people_write_it(ctx):
    shown = reminder(ctx, phone="+819012345678")

    assert "[+819012345678] isn't confirmed yet" in shown


def test_confirmed_or_absent_addresses_show_nothing(ctx):
    assert reminder(ctx).strip() == ""
    assert reminder(ctx, email="hana@example.com", email_confirmed_at=1).strip() == ""
