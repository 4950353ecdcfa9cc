"""The development outbox: what mamori would have e-mailed or texted. 404 in production.

A browser (Accept with text/html) gets an inbox page; every other client the JSON list
of DESIGN.md, which the tests read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import BaseModel, TypeAdapter

from mamori.core.errors import NotFound
from mamori.notifications.models import OutboxMessage
from mamori.notifications.outbox import outbox
from mamori.sessions.signed_in import Db
from mamori.web.deps import Ctx
from mamori.web.templating import render

router = APIRouter(include_in_schema=False)


class OutboxEntry(BaseModel):
    channel: Literal["sms", "email"]
    to: str
    subject: str
    body: str
    created_at: datetime
    # "outbox" (development), "pending", "sending", "sent" or "failed": notifications/service.py
    status: str


ENTRIES = TypeAdapter(list[OutboxEntry])
# A link runs to the first space or bracket; a trailing full stop or bracket is the
# sentence's, not the link's.
LINK = re.compile(r"https?://[^\s<>\"'「」（）()]+")
LINK_TAIL = ".,;:!?。、"
# A security code: 6 to 8 digits standing alone (not part of a phone number or a date).
CODE = re.compile(r"(?<![\d+\-/:.])\d{6,8}(?![\d\-/:])")


@dataclass(frozen=True)
class Part:
    """A piece of a message's line: plain text, a link or a code."""

    kind: Literal["text", "link", "code"]
    text: str


def _codes_in(text: str) -> list[Part]:
    parts: list[Part] = []
    at = 0
    for found in CODE.finditer(text):
        parts += [Part("text", text[at : found.start()]), Part("code", found.group())]
        at = found.end()
    return [*parts, Part("text", text[at:])]


def message_parts(line: str) -> list[Part]:
    """A line of a message with its links and codes picked out, so the page can make
    them clickable; the template escapes every part."""
    parts: list[Part] = []
    at = 0
    for found in LINK.finditer(line):
        link = found.group().rstrip(LINK_TAIL)
        parts += [*_codes_in(line[at : found.start()]), Part("link", link)]
        at = found.start() + len(link)
    return [part for part in [*parts, *_codes_in(line[at:])] if part.text]


def _entry(message: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(
        channel=message.channel,
        to=message.to,
        subject=message.subject,
        body=message.body,
        created_at=message.created_at,
        status=message.status,
    )


def _wants_page(request: Request) -> bool:
    return "text/html" in request.headers.get("accept", "")


@router.get("/dev/outbox")
def development_outbox(request: Request, db: Db, ctx: Ctx) -> Response:
    if not ctx.settings.development:
        raise NotFound()
    entries = [_entry(message) for message in outbox(db)]
    if not _wants_page(request):
        return Response(ENTRIES.dump_json(entries), media_type="application/json")
    shown = [
        (entry, [message_parts(line) for line in entry.body.splitlines()]) for entry in entries
    ]
    # Not a page route (path_for knows only those): the view names the script's path.
    script = str(request.app.url_path_for("development_outbox_script"))
    return render(request, "notifications/outbox.html", messages=shown, script=script)


OUTBOX_SCRIPT = """\
document.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-code]");
  if (!button) return;
  navigator.clipboard?.writeText(button.dataset.code);
  const selection = window.getSelection();
  selection.selectAllChildren(button);
  button.setAttribute("aria-pressed", "true");
});
"""


@router.get("/dev/outbox.js")
def development_outbox_script(ctx: Ctx) -> Response:
    """Copies a code with one tap (the page's policy allows no inline script)."""
    if not ctx.settings.development:
        raise NotFound()
    return Response(OUTBOX_SCRIPT, media_type="text/javascript")
