"""Japanese and English: catalogs read with Babel, the locale chosen per request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import phonenumbers
from babel import Locale
from babel.dates import format_datetime, get_timezone_location
from babel.messages.pofile import read_po

LOCALES = ("en", "ja")
JAPAN = 81  # the country calling code
CATALOG_DIR = Path(__file__).resolve().parent.parent / "locales"


@cache
def _catalog(locale: str) -> dict[str, str]:
    # One catalog file per feature may sit beside messages.po (recovery.po, …): all are read.
    # A plural entry is kept under its singular id, with its forms (Japanese has one).
    return {msgid: forms[0] for msgid, forms in _plural_catalog(locale).items()}


@cache
def _plural_catalog(locale: str) -> dict[str, tuple[str, ...]]:
    found: dict[str, tuple[str, ...]] = {}
    for path in sorted((CATALOG_DIR / locale / "LC_MESSAGES").glob("*.po")):
        with path.open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        for message in catalog:
            if not message.id or message.fuzzy:
                continue
            msgid = message.id if isinstance(message.id, str) else message.id[0]
            string = message.string
            forms = (string,) if isinstance(string, str) else tuple(string or ())
            if forms and all(forms):
                found[msgid] = tuple(str(form) for form in forms)
    return found


def translator(locale: str) -> Callable[..., str]:
    """gettext for `locale`; `%(name)s` placeholders are filled from keyword arguments.

    With a plural and a count, `_("%(count)s file", "%(count)s files", n)`, it is ngettext:
    English picks by the count, Japanese has one form for every count, and `%(count)s` is
    the count. Three arguments and no more: that is how `pybabel extract` (babel.cfg) tells
    a plural from a message."""
    catalog = _plural_catalog(locale) if locale != "en" else {}
    plural_form = Locale.parse(locale).plural_form

    def gettext(
        message: str, plural: str | None = None, count: int | None = None, /, **values: object
    ) -> str:
        if plural is not None and count is not None:
            values.setdefault("count", count)
        english = message if plural is None or count is None else _english(message, plural, count)
        forms = catalog.get(message)
        if forms is None:
            text = english
        elif plural is None or count is None or len(forms) == 1:
            text = forms[0]
        else:
            index = PLURAL_INDEX.get(plural_form(count), 0)
            text = forms[min(index, len(forms) - 1)]
        return text % values if values else text

    return gettext


# The order of a catalog's msgstr[n] for the two-form languages (gettext's "n != 1").
PLURAL_INDEX = {"one": 0, "other": 1}


def _english(singular: str, plural: str, count: int) -> str:
    return singular if count == 1 else plural


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


def format_phone(number: str | None) -> str:
    """A stored number (E.164) as people write it: a Japanese number in the national form
    everyone in Japan reads ("090-1234-5678"), any other in the international form with
    spaces ("+44 20 7946 0958"). Anything unparsable is shown as stored."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        return number
    form = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == JAPAN
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return str(phonenumbers.format_number(parsed, form))
