"""An alert's words, kept apart from the rules that send it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Alert:
    """A security alert's subject and body. Both are catalog message ids (translated when
    sent); `%(name)s` placeholders are filled from the values given with the alert."""

    subject: str
    body: str
