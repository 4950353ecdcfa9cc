"""A relying party nobody here wrote: Apache httpd with mod_auth_openidc (Debian's
`apache2` and `libapache2-mod-auth-openidc`), started on a loopback port, protects a page.
Chromium opens it, logs in through mamori with the password and an authenticator code,
allows the app, and the page shows what mod_auth_openidc learned: `sub`, `email`, `amr`."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from mamori.totp.service import code_at
from tests.conftest import PASSWORD
from tests.core.servers import free_port, mamori_command
from tests.e2e.conftest import PC, Server, running_server, skip_or_fail
from tests.e2e.steps import next_step_code, this_step

APACHE = Path("/usr/sbin/apache2")
MODULES = Path("/usr/lib/apache2/modules")
CLAIMS_PAGE = """<!doctype html><html><body>
<p id="sub"><!--#echo var="OIDC_CLAIM_sub" --></p>
<p id="email"><!--#echo var="OIDC_CLAIM_email" --></p>
<p id="amr"><!--#echo var="OIDC_CLAIM_amr" --></p>
<p id="acr"><!--#echo var="OIDC_CLAIM_acr" --></p>
</body></html>
"""


@dataclass(frozen=True)
class Apache:
    url: str
    log: Path


def apache_config(folder: Path, port: int, mamori: Server, client: dict[str, str]) -> str:
    modules = "\n".join(
        f"LoadModule {name}_module {MODULES}/mod_{file}.so"
        for name, file in (
            ("mpm_prefork", "mpm_prefork"),
            ("authn_core", "authn_core"),
            ("authz_core", "authz_core"),
            ("authz_user", "authz_user"),
            ("mime", "mime"),
            ("include", "include"),
            ("auth_openidc", "auth_openidc"),
        )
    )
    run_as = "User www-data\nGroup www-data" if os.geteuid() == 0 else ""
    return f"""
ServerRoot {folder}
ServerName 127.0.0.1
Listen 127.0.0.1:{port}
PidFile {folder}/httpd.pid
DefaultRuntimeDir {folder}
Mutex file:{folder} default
ErrorLog {folder}/error.log
LogLevel warn auth_openidc:info
{modules}
{run_as}
TypesConfig /etc/mime.types
DocumentRoot {folder}/htdocs
<Directory {folder}/htdocs>
  Options +Includes
  AddOutputFilter INCLUDES .shtml
  Require all granted
</Directory>

OIDCProviderMetadataURL {mamori.url}/.well-known/openid-configuration
OIDCClientID {client["client_id"]}
OIDCClientSecret {client["client_secret"]}
OIDCRedirectURI http://127.0.0.1:{port}/protected/redirect_uri
OIDCCryptoPassphrase {secrets.token_urlsafe(24)}
OIDCScope "openid email profile"
OIDCPKCEMethod S256
OIDCProviderTokenEndpointAuth client_secret_basic
<Location /protected>
  AuthType openid-connect
  Require valid-user
</Location>
"""


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stderr = log.with_name("stderr.log")
            pytest.fail(f"apache2 exited ({process.returncode}):\n{_read(log)}{_read(stderr)}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    pytest.fail(f"apache2 did not listen within 30 s:\n{_read(log)}")


def _read(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


@contextmanager
def running_apache(mamori: Server, client: dict[str, str], port: int) -> Iterator[Apache]:
    """apache2 in the foreground (-X: one process), from a generated config, in a folder
    the unprivileged user it switches to (when started as root) can read."""
    folder = Path(tempfile.mkdtemp(prefix="mamori-apache-"))
    folder.chmod(0o755)
    (folder / "htdocs" / "protected").mkdir(parents=True)
    (folder / "htdocs" / "protected" / "claims.shtml").write_text(CLAIMS_PAGE)
    for path in (folder / "htdocs", folder / "htdocs" / "protected"):
        path.chmod(0o755)
    config = folder / "httpd.conf"
    config.write_text(apache_config(folder, port, mamori, client))
    if os.geteuid() == 0:
        shutil.chown(folder, "www-data", "www-data")
    log = folder / "error.log"
    process = subprocess.Popen(
        [str(APACHE), "-X", "-f", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "stderr.log").open("wb"),
    )
    try:
        wait_for_port(port, process, log)
        yield Apache(f"http://127.0.0.1:{port}", log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if not os.environ.get("MAMORI_KEEP_APACHE"):
            shutil.rmtree(folder, ignore_errors=True)


def mamori_cli(server: Server, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env.update(MAMORI_ENV="development", MAMORI_DATA_DIR=str(server.data_dir))
    env["MAMORI_BASE_URL"] = server.url
    done = subprocess.run(
        [*mamori_command(), *args],
        env=env,
        cwd=server.data_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def person_with_authenticator_app(server: Server, username: str) -> str:
    """Signed up over the API with an authenticator app turned on; returns its key."""
    with httpx.Client(base_url=server.url) as api:
        api.post(
            "/api/v1/accounts",
            json={"username": username, "password": PASSWORD, "email": f"{username}@example.com"},
        ).raise_for_status()
        token = api.post("/api/v1/login", json={"login": username, "password": PASSWORD}).json()[
            "token"
        ]
        headers = {"authorization": f"Bearer {token}"}
        key = str(api.post("/api/v1/me/two-factor/totp", headers=headers).json()["secret"])
        api.post(
            "/api/v1/me/two-factor/totp/confirm",
            headers=headers,
            json={"code": code_at(key, this_step())},
        ).raise_for_status()
    return key


@pytest.fixture
def mamori(tmp_path: Path) -> Iterator[Server]:
    if not APACHE.exists() or not (MODULES / "mod_auth_openidc.so").exists():
        skip_or_fail(
            "apache2 with mod_auth_openidc not found: apt-get install apache2 "
            "libapache2-mod-auth-openidc"
        )
    with running_server(tmp_path) as server:
        yield server


@pytest.fixture
def page(browser: Any) -> Iterator[Page]:
    context = browser.new_context(viewport=PC, locale="en-US")
    context.set_default_timeout(20_000)
    yield context.new_page()
    context.close()


def test_an_apache_protected_page_logs_in_through_mamori_with_two_factor(
    page: Page, mamori: Server
):
    username = f"mio_{secrets.token_hex(3)}"
    key = person_with_authenticator_app(mamori, username)
    # The redirect URI names Apache's port, so the app is registered once it is known.
    apache_port = free_port()
    redirect_uri = f"http://127.0.0.1:{apache_port}/protected/redirect_uri"
    client = json.loads(
        mamori_cli(mamori, "clients", "create", "Wiki", "--redirect-uri", redirect_uri, "--json")
    )
    with running_apache(mamori, client, apache_port) as apache:
        page.goto(f"{apache.url}/protected/claims.shtml")
        expect(page).to_have_url(f"{mamori.url}/login?next=" + page.url.split("next=")[1])
        page.get_by_label("Username, e-mail or phone number").fill(username)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in", exact=True).click()
        page.get_by_label("Security code").fill(next_step_code(key))
        page.get_by_role("button", name="Confirm").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(
            "Allow Wiki to use your mamori account?"
        )
        expect(page.get_by_text("Your e-mail address")).to_be_visible()
        page.get_by_role("button", name="Allow").click()

        expect(page).to_have_url(f"{apache.url}/protected/claims.shtml", timeout=30_000)
        assert len(page.locator("#sub").inner_text()) > 20
        assert page.locator("#email").inner_text() == f"{username}@example.com"
        assert page.locator("#amr").inner_text().split(",") == ["pwd", "otp", "mfa"]
        assert page.locator("#acr").inner_text() == "urn:mamori:acr:two-factor"
