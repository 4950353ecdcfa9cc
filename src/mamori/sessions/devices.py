"""A short, human name for a device from its User-Agent: "Chrome on Windows"."""

from __future__ import annotations

import re

_BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|Opera"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
)
_SYSTEMS = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android"),
    ("Windows", r"Windows"),
    ("macOS", r"Mac OS X|Macintosh"),
    ("ChromeOS", r"CrOS"),
    ("Linux", r"Linux"),
)


def describe_device(user_agent: str | None) -> str:
    if not user_agent:
        return "Unknown device"
    browser = next((name for name, rx in _BROWSERS if re.search(rx, user_agent)), None)
    system = next((name for name, rx in _SYSTEMS if re.search(rx, user_agent)), None)
    if browser and system:
        return f"{browser} on {system}"
    return browser or system or user_agent[:40]
