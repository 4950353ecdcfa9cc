"""The throttle's counter: in core, because core.throttle counts what it refuses.

The other metrics, and their exposition, are in observability/metrics.py."""

from __future__ import annotations

import re

from prometheus_client import Counter

_LABEL = re.compile(r"[a-z0-9_.+-]{1,64}")

THROTTLED = Counter(
    "mamori_throttled",
    "Requests refused because a throttle policy made the subject wait (429)",
    ["policy"],
)


def label(value: object) -> str:
    """A label value from mamori's own vocabulary, or "other": never free text."""
    text = str(value).lower() if value is not None else ""
    return text if _LABEL.fullmatch(text) else "other"


def count_throttled(policy: str) -> None:
    THROTTLED.labels(label(policy)).inc()
