"""The HTTP/1.1 protocol `mamori serve` runs: uvicorn's httptools protocol with bounds on
what a client may send before its request starts.

uvicorn bounds neither the size of request headers under httptools (an 8 MB header was
served; four unfinished 64 MB ones held 256 MB) nor the time to send them (a half-sent
request stayed open for good). Here:

- headers larger than MAMORI_MAX_HEADER_BYTES: 431 and the connection closed, counted as
  they arrive, so an unfinished header is cut off too;
- headers not complete MAMORI_HEADER_TIMEOUT_SECONDS after the connection opened or the
  request's first byte: the connection closed (408 if something had been sent).

An idle kept-alive connection is uvicorn's own keep-alive timeout's business; a slow body
is the app's (BodySizeLimit), as the headers are complete by then.
"""

from __future__ import annotations

import asyncio
import json
import logging
from functools import cache
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from mamori.settings import Settings

log = logging.getLogger("mamori")

_TOO_LARGE = json.dumps(
    {
        "type": "about:blank",
        "title": "Request headers too large",
        "status": 431,
        "code": "headers_too_large",
    }
).encode()


@cache
def _limits() -> tuple[int, float]:
    """Read once per process: `mamori serve` passes the settings to its workers through
    the environment, as it does for the app itself."""
    settings = Settings()
    return settings.max_header_bytes, settings.header_timeout_seconds


class HeadersTooLarge(Exception):
    """Raised inside the parser's callback: httptools then stops and uvicorn answers."""


class LimitedHttpProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        self.max_header_bytes, self.header_timeout = _limits()
        self.awaiting_headers = True
        self.header_bytes = 0
        self.header_clock: asyncio.TimerHandle | None = None
        self.headers_too_large = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_header_clock()

    def connection_lost(self, exc: Exception | None) -> None:
        self._stop_header_clock()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.awaiting_headers:
            self.header_bytes += len(data)
        super().data_received(data)
        if (
            self.awaiting_headers
            and self.header_bytes > self.max_header_bytes
            and not self.transport.is_closing()
        ):
            self._refuse_large_headers()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if not self.awaiting_headers:  # the next request on a kept-alive connection
            self.awaiting_headers = True
            self.header_bytes = 0
            self._start_header_clock()

    def on_headers_complete(self) -> None:
        # Exact, for headers that came whole in one read after an earlier request's end.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > self.max_header_bytes:
            self.headers_too_large = True
            raise HeadersTooLarge
        self.awaiting_headers = False
        self._stop_header_clock()
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self.headers_too_large:
            self._refuse_large_headers()
        else:
            super().send_400_response(msg)

    def _refuse_large_headers(self) -> None:
        log.warning("request headers over %d bytes refused", self.max_header_bytes)
        self._stop_header_clock()
        self._close_with(b"431 Request Header Fields Too Large", _TOO_LARGE)

    def _start_header_clock(self) -> None:
        self._stop_header_clock()
        self.header_clock = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _stop_header_clock(self) -> None:
        if self.header_clock is not None:
            self.header_clock.cancel()
            self.header_clock = None

    def _headers_too_slow(self) -> None:
        self.header_clock = None
        if not self.awaiting_headers or self.transport.is_closing():
            return
        if self.header_bytes == 0:
            self.transport.close()  # a connection opened and never used
            return
        log.warning("request headers not complete within %g s", self.header_timeout)
        self._close_with(b"408 Request Timeout", b"")

    def _close_with(self, status: bytes, body: bytes) -> None:
        kind = b"content-type: application/problem+json\r\n" if body else b""
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\n" + kind + b"content-length: "
            b"%d\r\nconnection: close\r\n\r\n" % len(body) + body
        )
        self.transport.close()
