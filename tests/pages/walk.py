"""One walk through every page of a running `mamori serve`, in one browser context.

The walk makes the state the pages need as a person would (signs up, turns on the
authenticator app, logs in with a backup code, starts a recovery) and, at each page,
hands it to `visit`: the check of tests/e2e/test_every_page.py, or the camera of
`python -m tests.pages.screenshots`. Every page route the app names (`app.state.pages`,
GET) is either in PAGES or in NOT_PAGES with the reason.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.request import Request, urlopen

from playwright.sync_api import Page

from mamori.totp.service import STEP_SECONDS, code_at
from tests.conftest import PASSWORD
from tests.core.servers import mamori_command
from tests.e2e.conftest import Server

CENTER = "/accounts/center"
SECURITY = f"{CENTER}/password-and-security"
TWO_FACTOR = f"{SECURITY}/two-factor"

# GET routes that are not pages a person reads. (Pages that only a link in a message or
# another person's action opens are walked with a link that no longer works: the page
# they answer then is checked, not the one the link would open.)
NOT_PAGES = {
    "download_backup_codes": "a .txt file",
    "backup_codes_stylesheet": "a stylesheet",
    "backup_codes_script": "a script",
    "evidence_file": "a support case's uploaded file",
    "static": "static files",
    "home": "redirects to the login page or the Accounts Center",
}


@dataclass
class Walk:
    page: Page
    base: str
    visit: Callable[[Page, str], None]
    seen: list[str] = field(default_factory=list)

    def go(self, name: str, path: str) -> None:
        self.page.goto(self.base + path)
        self.at(name)

    def at(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        self.seen.append(name)
        self.visit(self.page, name)

    def submit(self, **fields: str) -> None:
        for field_id, value in fields.items():
            self.page.fill(f"#{field_id}", value)
        self.page.locator("main form button[type=submit].primary").first.click()
        self.page.wait_for_load_state("load")


def outbox(base: str) -> list[dict[str, Any]]:
    request = Request(base + "/dev/outbox", headers={"Accept": "application/json"})  # noqa: S310
    with urlopen(request, timeout=10) as answer:  # noqa: S310 (the local server's http)
        return list(json.load(answer))


def newest_code(base: str, to: str) -> str:
    for message in outbox(base):
        found = re.search(r"\b(\d{6})\b", message.get("body", ""))
        if found and message.get("to") == to:
            return found.group(1)
    raise AssertionError(f"no security code for {to} in the outbox")


def grant_operator(server: Server, username: str) -> None:
    """`mamori users grant-operator`, as an operator runs it beside the server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env.update(MAMORI_ENV="development", MAMORI_DATA_DIR=str(server.data_dir))
    subprocess.run(
        [*mamori_command(), "users", "grant-operator", username],
        env=env,
        cwd=server.data_dir,
        check=True,
        capture_output=True,
        timeout=60,
    )


def walk_every_page(page: Page, server: Server, visit: Callable[[Page, str], None]) -> list[str]:
    """Visit every page; return the route names seen, in order."""
    base = server.url
    walk = Walk(page, base, visit)
    username = f"hana{int(time.time() * 1000) % 10**8}"
    # Logged out.
    walk.go("login_page", "/login")
    walk.go("sign_up_page", "/signup")
    walk.go("start_page", "/recovery")
    walk.go("open_case_page", "/recovery/support")
    walk.go("approved_link", "/recovery/support/no-longer-valid")
    walk.go("cancel_page", "/recovery/cancel/no-longer-valid")

    # Sign up with an e-mail address: the next page asks for its code.
    walk.go("sign_up_page", "/signup")
    email = f"{username}@example.com"
    walk.submit(username=username, password=PASSWORD, email=email)
    walk.at("confirm_address_page")
    walk.submit(code=newest_code(base, email))
    walk.go("accounts_center", CENTER)
    walk.go("password_and_security", SECURITY)
    walk.go("change_password_page", f"{SECURITY}/password")
    walk.go("time_zone_page", f"{CENTER}/time-zone")
    walk.go("contact_details_page", f"{SECURITY}/contact-details")
    walk.go("change_page", f"{SECURITY}/contact-details/phone")
    walk.go("remove_page", f"{SECURITY}/contact-details/email/remove")
    walk.go("trusted_contacts_page", f"{SECURITY}/trusted-contacts")
    walk.go("choose_page", f"{SECURITY}/trusted-contacts/choose")
    walk.go("checkup_page", f"{SECURITY}/checkup")
    walk.go("security_review", f"{CENTER}/security-review")
    walk.go("emails_page", f"{SECURITY}/emails")
    walk.go("passkeys_page", f"{SECURITY}/passkeys")
    walk.go("new_passkey_page", f"{SECURITY}/passkeys/new")
    # No passkey in this browser: the links a removed passkey's page leaves behind.
    walk.go("passkey_page", f"{SECURITY}/passkeys/404")
    walk.go("remove_passkey_page", f"{SECURITY}/passkeys/404/remove")
    walk.go("apps_page", f"{CENTER}/apps-and-websites")
    walk.go("remove_app_page", f"{CENTER}/apps-and-websites/no-such-app/remove")
    # Sign in with mamori, reached by an app nobody registered: the person is told, not
    # sent anywhere; a request that expired; the question before logging out.
    walk.go("authorize", "/oauth/authorize?client_id=no-such-app")
    walk.go("continue_authorization", "/oauth/authorize/continue?request=no-longer-valid")
    walk.go("end_session", "/oauth/logout")
    walk.go("reauthenticate_page", "/reauthenticate")

    # Two-factor: off, then on with the authenticator app.
    walk.go("two_factor_page", TWO_FACTOR)
    walk.go("text_message_page", f"{TWO_FACTOR}/text-message")
    walk.go("authenticator_page", f"{TWO_FACTOR}/authenticator")
    key = page.locator("#totp-key").inner_text().replace(" ", "")
    step = int(time.time()) // STEP_SECONDS
    walk.submit(code=code_at(key, step))
    walk.at("two_factor_turned_on")
    backup_codes = [code.inner_text() for code in page.locator(".code-grid .code").all()]
    walk.go("two_factor_page", TWO_FACTOR)
    walk.go("backup_codes_page", f"{TWO_FACTOR}/backup-codes")
    walk.go("print_backup_codes", f"{TWO_FACTOR}/backup-codes/print")
    walk.go("new_backup_codes_page", f"{TWO_FACTOR}/backup-codes/new")
    walk.go("remove_method_page", f"{TWO_FACTOR}/remove?method=totp")
    walk.go("turn_off_page", f"{TWO_FACTOR}/off")
    walk.go("alerts_page", f"{SECURITY}/alerts")
    wasnt_me = page.locator("#alerts a").first.get_attribute("href") or "/"
    walk.go("wasnt_me_page", wasnt_me)

    # Log out and in again: the second step, another way, a backup code.
    walk.go("new_password_page", "/accounts/new-password")
    walk.go("request_page", "/trusted-contacts/requests/no-such-request")
    page.context.clear_cookies()

    # The last resort: a support case about the account, then the queue as an operator.
    walk.go("open_case_page", "/recovery/support")
    walk.submit(login=username, contact_email=email, what_happened="I lost my phone.")
    walk.at("open_case")
    walk.go("login_page", "/login")
    walk.submit(login=username, password=PASSWORD)
    walk.at("challenge_page")
    walk.go("other_methods_page", "/login/two-factor/methods")
    walk.go("challenge_page", "/login/two-factor?method=backup_code")
    walk.submit(code=backup_codes[0])
    walk.at("backup_code_used_page")
    walk.go("sessions_page", f"{SECURITY}/sessions")
    walk.go("end_others_page", f"{SECURITY}/sessions/end-others")
    walk.go("dev_outbox", "/dev/outbox")
    grant_operator(server, username)
    walk.go("queue_page", "/operator/support")
    page.locator("main .menu a").first.click()
    walk.at("case_page")
    walk.go("operator_apps_page", "/operator/apps")

    # "Can't log in?" for the account: a code by e-mail, then the chooser of the next proof.
    page.context.clear_cookies()
    walk.go("start_page", "/recovery")
    walk.submit(login=username)
    walk.at("next_step")
    walk.go("options_page", "/recovery/options")
    walk.submit()
    walk.at("code_page")
    walk.submit(code=newest_code(base, email))
    walk.go("more_page", "/recovery/more")
    walk.go("more_page", "/recovery/more?way=password")
    walk.go("recovery_page", "/recovery/trusted-contacts")
    walk.go("recovery_new_password_page", "/recovery/new-password")
    walk.go("done_page", "/recovery/done")
    return walk.seen
