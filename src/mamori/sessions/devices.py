"""A short, human name for a device from its User-Agent: "Chrome on Windows".

The order matters: most browsers also claim to be Safari, Chrome or Mozilla, so the
more specific token is looked for first.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

_BROWSERS = (
    ("Edge", r"Edg(e|A|iOS)?/"),
    ("Opera", r"OPR/|OPT/|Opera"),
    ("Samsung Internet", r"SamsungBrowser/"),
    ("Yandex Browser", r"YaBrowser/"),
    ("Vivaldi", r"Vivaldi/"),
    ("UC Browser", r"UCBrowser/"),
    ("Firefox", r"Firefox/|FxiOS/"),
    ("Chrome", r"Chrome/|CriOS/|Chromium/"),
    ("Safari", r"Safari/"),
    ("Internet Explorer", r"MSIE |Trident/"),
    # Programs rather than browsers: an app's HTTP library, or a command-line tool.
    ("Android app", r"^okhttp/|^Dalvik/"),
    ("iOS app", r"CFNetwork/"),
    ("curl", r"^curl/"),
    ("Python", r"^python-requests/|^python-httpx/|^Python-urllib/|^aiohttp/"),
)
_SYSTEMS = (
    ("iPhone", r"iPhone"),
    ("iPad", r"iPad"),
    ("Android", r"Android|Dalvik/"),
    ("Windows", r"Windows"),
    ("ChromeOS", r"CrOS"),
    ("macOS", r"Mac OS X|Macintosh|Darwin/"),
    ("Linux", r"Linux|X11"),
)


@dataclass(frozen=True)
class Device:
    browser: str | None
    system: str | None

    @property
    def family(self) -> str:
        """What stays the same across updates of one browser on one system."""
        return f"{self.browser or '?'}/{self.system or '?'}"


def parse_device(user_agent: str | None) -> Device:
    if not user_agent:
        return Device(None, None)
    browser = next((name for name, rx in _BROWSERS if re.search(rx, user_agent)), None)
    system = next((name for name, rx in _SYSTEMS if re.search(rx, user_agent)), None)
    return Device(browser, system)


def describe_device(user_agent: str | None, gettext: Callable[..., str] | None = None) -> str:
    """ "Chrome on Windows", in the reader's language when a translator is given; only
    names from the lists above, never text from the User-Agent."""
    _ = gettext or (lambda message, **values: message % values if values else message)
    device = parse_device(user_agent)
    if device.browser and device.system:
        return _("%(browser)s on %(system)s", browser=device.browser, system=device.system)
    if device.browser or device.system:
        return str(device.browser or device.system)
    # Never the User-Agent itself: the client writes it, and quoted in an alert it would
    # put a stranger's words ("click http://…") into a message the owner trusts.
    return _("Unknown device")
