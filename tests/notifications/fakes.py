"""Real servers in the test process: an SMTP server (aiosmtpd) and a local HTTP server that
speaks Twilio's Messages API. The one thing that cannot run here is a paid SMS provider."""

from __future__ import annotations

import base64
import datetime as dt
import ipaddress
import json
import secrets
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.core.servers import free_port

SID = "AC" + "0123456789abcdef" * 2
TOKEN = "provider-auth-token-for-tests"
SENDER = "+15005550006"


# --- SMTP -----------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    sender: str
    recipients: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        return str(self.message.get_content())


@dataclass
class SmtpInbox:
    host: str
    port: int
    mails: list[ReceivedMail] = field(default_factory=list)
    refuse_recipients: set[str] = field(default_factory=set)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse_recipients:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        parsed = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.mails.append(ReceivedMail(envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted for delivery"


@dataclass(frozen=True)
class Certificate:
    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context


def self_signed_certificate(directory: Path) -> Certificate:
    """A certificate for 127.0.0.1, as a small private CA would issue for an SMTP relay."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "mamori test SMTP")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "smtp-cert.pem", directory / "smtp-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return Certificate(cert_file, key_file)


@contextmanager
def smtp_server(
    *,
    certificate: Certificate | None = None,
    implicit_tls: bool = False,
    credentials: tuple[str, str] | None = None,
    port: int | None = None,
) -> Iterator[SmtpInbox]:
    """Plain SMTP; STARTTLS required when a certificate is given; implicit TLS on request.

    `port`: come back where a server that went down was listening."""
    inbox = SmtpInbox("127.0.0.1", port or free_port())
    options: dict[str, Any] = {}
    if certificate and implicit_tls:
        options["ssl_context"] = certificate.server_context()
    elif certificate:
        options["tls_context"] = certificate.server_context()
        options["require_starttls"] = True
    if credentials:

        def authenticate(server, session, envelope, mechanism, data) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and (
                    data.login.decode(),
                    data.password.decode(),
                )
                == credentials
            )
            if ok:
                inbox.logins.append((data.login.decode(), mechanism))
            return AuthResult(success=ok)

        options["authenticator"] = authenticate
        options["auth_required"] = True
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port, **options)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


@dataclass
class SilentServer:
    """Accepts TCP connections and never says a word: an SMTP server that hangs."""

    host: str
    port: int
    connections: int = 0


@contextmanager
def silent_server() -> Iterator[SilentServer]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.1)
    server = SilentServer("127.0.0.1", int(listener.getsockname()[1]))
    held: list[socket.socket] = []
    stopping = threading.Event()

    def accept() -> None:
        while not stopping.is_set():
            try:
                connection, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(connection)
            server.connections += 1

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        stopping.set()
        thread.join()
        for connection in held:
            connection.close()
        listener.close()


# --- SMS provider (Twilio's Messages API) -----------------------------------------------


@dataclass
class SmsProvider:
    url: str
    texts: list[dict[str, str]] = field(default_factory=list)
    mode: str = "ok"  # "ok", "error" (500), "slow" (answers after `slow_seconds`), "failed"
    slow_seconds: float = 2.0
    rejected_auth: int = 0

    def bodies_to(self, number: str) -> list[str]:
        return [text["Body"] for text in self.texts if text["To"] == number]


def _handler(provider: SmsProvider) -> type[BaseHTTPRequestHandler]:
    class TwilioMessages(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

        def _answer(self, status: int, body: dict[str, Any]) -> None:
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            if self.path != f"/2010-04-01/Accounts/{SID}/Messages.json":
                self._answer(404, {"code": 20404, "message": "Not found", "status": 404})
                return
            expected = "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
            if self.headers.get("Authorization") != expected:
                provider.rejected_auth += 1
                self._answer(401, {"code": 20003, "message": "Authenticate", "status": 401})
                return
            if provider.mode == "slow":
                time.sleep(provider.slow_seconds)
            if provider.mode == "error":
                self._answer(500, {"code": 20500, "message": "Internal error", "status": 500})
                return
            if not {"To", "From", "Body"} <= form.keys():
                self._answer(400, {"code": 21604, "message": "A field is missing", "status": 400})
                return
            provider.texts.append(form)
            self._answer(
                201,
                {
                    "sid": "SM" + secrets.token_hex(16),
                    "account_sid": SID,
                    "to": form["To"],
                    "from": form["From"],
                    "body": form["Body"],
                    "status": "failed" if provider.mode == "failed" else "queued",
                    "num_segments": "1",
                    "error_code": 30006 if provider.mode == "failed" else None,
                    "api_version": "2010-04-01",
                },
            )

    return TwilioMessages


@contextmanager
def sms_provider() -> Iterator[SmsProvider]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(SmsProvider("")))
    provider = SmsProvider(f"http://127.0.0.1:{server.server_address[1]}")
    server.RequestHandlerClass = _handler(provider)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield provider
    finally:
        server.shutdown()
        server.server_close()


def provider_settings(provider: SmsProvider) -> dict[str, Any]:
    return {
        "sms_provider_url": provider.url,
        "sms_account_sid": SID,
        "sms_auth_token": TOKEN,
        "sms_from": SENDER,
    }
