"""Japanese and English: catalogs read with Babel, the locale chosen per request."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_datetime
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


def format_moment(moment: datetime | None, locale: str) -> str:
    if moment is None:
        return ""
    return format_datetime(moment, "medium", tzinfo=None, locale=locale)
