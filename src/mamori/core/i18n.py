"""Japanese and English: catalogs read with Babel, the locale chosen per request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

from babel import Locale
from babel.dates import format_datetime, get_timezone_location
from babel.messages.pofile import read_po

LOCALES = ("en", "ja")
CATALOG_DIR = Path(__file__).resolve().parent.parent / "locales"


@cache
def _catalog(locale: str) -> dict[str, str]:
    # One catalog file per feature may sit beside messages.po (recovery.po, …): all are read.
    found: dict[str, str] = {}
    for path in sorted((CATALOG_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        found.update(
            (str(message.id), str(message.string))
            for message in catalog
            if message.id and message.string and not message.fuzzy
        )
    return found


def translator(locale: str) -> Callable[..., str]:
    """gettext for `locale`; `%(name)s` placeholders are filled from keyword arguments."""
    catalog = _catalog(locale) if locale != "en" else {}

    def gettext(message: str, **values: object) -> str:
        text = catalog.get(message, message)
        return text % values if values else text

    return gettext


def negotiate(accept_language: str | None, default: str) -> str:
    if not accept_language:
        return default
    preferred = []
    for part in accept_language.split(",")[:20]:
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        if not 0 < weight <= 1:  # q=0 means "not this one"; nan and inf mean nothing
            continue
        if tag:
            preferred.append((weight, tag.strip()))
    preferred.sort(key=lambda item: -item[0])
    choice = Locale.negotiate([tag for _, tag in preferred], list(LOCALES), sep="-")
    return str(choice.language) if choice else default


# Where a person's time zone is not known yet (no script ran): Japanese readers are
# almost all in Japan; anyone else gets UTC, named as such, rather than a wrong guess.
DEFAULT_ZONES = {"ja": "Asia/Tokyo"}
PATTERNS = {"ja": "y年M月d日 H:mm", "en": "MMM d, y, h:mm a"}


def default_zone(locale: str) -> str:
    return DEFAULT_ZONES.get(locale, "UTC")


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def known_zone(name: str | None) -> str | None:
    """An IANA time zone name this machine knows ("Asia/Tokyo"), or None."""
    return name if name and len(name) <= 64 and name in _zones() else None


def zone_names() -> list[str]:
    """Every zone a person may choose, in the order a list shows them."""
    return sorted(_zones() - {"localtime", "Factory"})


def format_moment(moment: datetime | None, locale: str, zone: str | None = None) -> str:
    """A moment as the person reads it, in their time zone, with the zone named:
    "2026年12月7日 23:34 (日本時間)", "Dec 7, 2026, 11:34 PM JST"."""
    if moment is None:
        return ""
    tz = ZoneInfo(known_zone(zone) or default_zone(locale))
    local = moment.astimezone(tz)
    text = format_datetime(local, PATTERNS.get(locale, PATTERNS["en"]), locale=locale)
    return (
        f"{text} ({_zone_label(tz, local, locale)})"
        if locale == "ja"
        else f"{text} {local.tzname()}"
    )


def _zone_label(tz: ZoneInfo, local: datetime, locale: str) -> str:
    # Babel names a zone by its place ("日本時間", "イギリス時間"); UTC has no place.
    if tz.key == "UTC":
        return "UTC"
    return str(get_timezone_location(tz, locale=locale))
