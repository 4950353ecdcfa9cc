"""One route shape: a page that needs a person sends a browser to log in (or to "Confirm
it's you") and back to the page it was on; the API answers problem+json; pages link to
each other by route name, never by a path spelled in a template."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import APIRouter

from mamori.web.templating import pages_by_name, template_dirs
from tests.conftest import PASSWORD, bearer, log_in, sign_up
from tests.core.helpers import csrf_from, submit, web_log_in, web_sign_up

TWO_FACTOR = "/accounts/center/password-and-security/two-factor"
APP = f"{TWO_FACTOR}/authenticator"
# An internal path written out in a template: a link, a form, an asset, or a variable.
LITERAL_PATH = re.compile(r'(?:href|action|src)="/|\{%-?\s*set\s+\w+\s*=\s*"/')


def next_of(location: str) -> str:
    return parse_qs(urlsplit(location).query)["next"][0]


def test_a_page_asked_for_while_logged_out_comes_back_after_login(client):
    sign_up(client)
    client.cookies.clear()
    asked = f"{TWO_FACTOR}?from=checkup"

    answer = client.get(asked, follow_redirects=False)

    assert answer.status_code == 303
    assert urlsplit(answer.headers["location"]).path == "/login"
    assert next_of(answer.headers["location"]) == asked
    logged_in = web_log_in(client, "hana", PASSWORD, next=next_of(answer.headers["location"]))
    assert logged_in.headers["location"] == asked


def test_a_form_sent_without_confirming_comes_back_to_its_page_and_changes_nothing(client, clock):
    web_sign_up(client, "hana", PASSWORD)
    clock.advance(minutes=11)  # past the "Confirm it's you" window of the sign-up login

    answer = submit(client, TWO_FACTOR, f"{TWO_FACTOR}/off")

    assert answer.status_code == 303
    assert urlsplit(answer.headers["location"]).path == "/reauthenticate"
    # The form's path is also the page that asks "Turn off two-factor authentication?"
    # (issue 12): the person comes back to that question, not to a bare form.
    asked = f"{TWO_FACTOR}/off"
    assert next_of(answer.headers["location"]) == asked
    confirm = client.get(answer.headers["location"])
    back = client.post(
        "/reauthenticate",
        data={"csrf_token": csrf_from(confirm), "password": PASSWORD, "next": asked},
        follow_redirects=False,
    )
    assert back.headers["location"] == asked


def test_a_page_that_needs_confirming_sends_the_browser_there_and_back(client, clock):
    web_sign_up(client, "hana", PASSWORD)
    clock.advance(minutes=11)

    answer = client.get(APP, follow_redirects=False)

    assert answer.status_code == 303
    assert next_of(answer.headers["location"]) == APP


def test_the_api_answers_problems_not_redirects(client, clock):
    sign_up(client)
    token = log_in(client)
    clock.advance(minutes=11)

    no_token = client.delete("/api/v1/me/two-factor")
    not_confirmed = client.delete("/api/v1/me/two-factor", headers=bearer(token))

    assert no_token.status_code == 401
    assert no_token.headers["content-type"] == "application/problem+json"
    assert no_token.json()["code"] == "not_authenticated"
    assert not_confirmed.status_code == 403
    assert not_confirmed.json()["code"] == "reauthentication_required"


def test_no_template_spells_out_a_path():
    templates = [f for d in template_dirs() for f in d.glob("**/*.html")]
    assert len(templates) > 30
    spelled = [
        f"{path.relative_to(path.parents[2])}:{number}: {line.strip()}"
        for path in templates
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if LITERAL_PATH.search(line)
    ]
    assert spelled == []


def test_two_pages_with_one_name_stop_the_app_from_starting():
    first, second = APIRouter(), APIRouter()
    first.add_api_route("/a", lambda: None, name="settings_page")
    second.add_api_route("/b", lambda: None, name="settings_page")

    with pytest.raises(ValueError, match="settings_page"):
        pages_by_name([first, second])


def test_every_page_a_template_links_to_exists(client):
    """path_for('name') with a name no page has would be a 500 on that page."""
    names = {
        name
        for d in template_dirs()
        for f in d.glob("**/*.html")
        for name in re.findall(r"path_for\('(\w+)'", f.read_text())
    }
    pages = client.app.state.pages

    assert names, "templates link by name"
    assert sorted(names - pages.keys()) == []


def test_a_form_sent_while_logged_out_comes_back_to_the_page_that_shows_it(client):
    sign_up(client)
    client.cookies.delete("mamori_session")

    # .../two-factor/default is only a form: the person comes back to the page with it.
    answer = submit(client, "/login", f"{TWO_FACTOR}/default", method="totp")

    assert answer.status_code == 303
    assert urlsplit(answer.headers["location"]).path == "/login"
    assert next_of(answer.headers["location"]) == TWO_FACTOR
