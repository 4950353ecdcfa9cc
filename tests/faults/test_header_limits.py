"""`mamori serve` bounds what a client may send before its request even starts: headers
larger than MAMORI_MAX_HEADER_BYTES get 431 and a closed connection, headers not finished
within MAMORI_HEADER_TIMEOUT_SECONDS get a closed connection, and unfinished headers hold
no memory. Real sockets against a real server (one for the module)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.core.servers import free_port, mamori_command, wait_until_healthy

HEADER_TIMEOUT = 2  # seconds; short, so the test waits little
MIB = 1024 * 1024


@dataclass(frozen=True)
class Server:
    port: int
    pid: int


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data_dir = tmp_path_factory.mktemp("header-limits")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAMORI_")}
    env |= {
        "MAMORI_ENV": "development",
        "MAMORI_DATA_DIR": str(data_dir),
        "MAMORI_HEADER_TIMEOUT_SECONDS": str(HEADER_TIMEOUT),
    }
    log = data_dir / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [*mamori_command(), "serve", "--port", str(port)],
            env=env,
            cwd=data_dir,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until_healthy(f"http://127.0.0.1:{port}", process, log)
        yield Server(port, process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def connect(server: Server) -> socket.socket:
    # A small send buffer: what send() accepted is close to what the server took in.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 64 * 1024)
    sock.connect(("127.0.0.1", server.port))
    return sock


def answer(sock: socket.socket, seconds: float = 10) -> bytes:
    """Whatever the server sends until it closes (or `seconds` pass)."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return received


def send_until_refused(sock: socket.socket, total: int) -> int:
    """Send an unfinished header `total` bytes long; return how many bytes were accepted
    before the server closed the connection."""
    sent = 0
    chunk = b"a" * (64 * 1024)
    sock.settimeout(10)
    try:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
        while sent < total:
            sent += sock.send(chunk)
    except (BrokenPipeError, ConnectionResetError, TimeoutError):
        pass
    return sent


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def test_a_one_megabyte_header_is_refused_not_served(server):
    with connect(server) as sock:
        request = b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * MIB + b"\r\n\r\n"
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(request)
        reply = answer(sock)

    assert not reply.startswith(b"HTTP/1.1 200"), reply[:200]
    assert reply == b"" or reply.startswith(b"HTTP/1.1 431"), reply[:200]


def test_headers_just_under_the_limit_are_served(server):
    with connect(server) as sock:
        filler = b"a" * (12 * 1024)
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Fill: " + filler + b"\r\n"
            b"Connection: close\r\n\r\n"
        )
        assert answer(sock).startswith(b"HTTP/1.1 200")


def test_a_half_sent_header_is_closed_within_the_timeout(server):
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Slow: a")
        reply = answer(sock, seconds=HEADER_TIMEOUT + 8)
        waited = time.monotonic() - started

    assert not reply.startswith(b"HTTP/1.1 200")
    assert waited < HEADER_TIMEOUT + 5, f"still open after {waited:.1f} s"


def test_a_connection_that_sends_nothing_is_closed_within_the_timeout(server):
    with connect(server) as sock:
        started = time.monotonic()
        reply = answer(sock, seconds=HEADER_TIMEOUT + 8)
        waited = time.monotonic() - started

    assert reply == b""
    assert waited < HEADER_TIMEOUT + 5, f"still open after {waited:.1f} s"


def test_four_unfinished_64_mib_headers_hold_no_memory(server):
    before = rss_kib(server.pid)
    sockets = [connect(server) for _ in range(4)]
    try:
        accepted = [send_until_refused(sock, 64 * MIB) for sock in sockets]
        after = rss_kib(server.pid)
    finally:
        for sock in sockets:
            sock.close()

    print(f"accepted per connection: {accepted}; server RSS {before} KiB -> {after} KiB")
    assert all(sent < MIB for sent in accepted), accepted
    assert after - before < 32 * 1024, f"RSS grew from {before} KiB to {after} KiB"
