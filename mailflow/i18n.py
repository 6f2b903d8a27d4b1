"""Languages: Babel message catalogues (read from .po once) and locale-aware dates and amounts."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations

from mailflow.models import LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# Belgian conventions ("1 234,56 €" in French, "€ 1.234,56" in Dutch); British for English readers.
LOCALES = {"fr": "fr_BE", "nl": "nl_BE", "en": "en_GB", "de": "de_BE"}
DEFAULT_LANGUAGE = "fr"


def language(code: str | None) -> str:
    return code if code in LANGUAGES else DEFAULT_LANGUAGE


def locale_for(code: str | None) -> str:
    return LOCALES[language(code)]


@lru_cache(maxsize=None)
def translations(code: str) -> Translations:
    """Every catalogue (domain) of a language merged into one; compiled in memory once."""
    merged = Translations()
    folder = LOCALE_DIR / language(code) / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        merged.merge(_compile(po))
    return merged


def _compile(po: Path) -> Translations:
    with po.open("rb") as handle:
        catalog = read_po(handle)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


def gettext(code: str, message: str, **values: object) -> str:
    text = translations(code).gettext(message)
    return text % values if values else text


# Formatting through Babel costs some 15 µs a call and a mail shows each amount and date in both its text
# and HTML part, many of them the same day: remembering recent results halves that work.
@lru_cache(maxsize=4096)
def money(cents: int, code: str | None, currency: str = "EUR") -> str:
    return format_currency(Decimal(cents) / 100, currency, locale=locale_for(code))


@lru_cache(maxsize=1024)
def long_date(day: date, code: str | None) -> str:
    return format_date(day, format="long", locale=locale_for(code))


def moment(when: datetime, code: str | None, tz: str) -> str:
    """A date and time in the zone people live in ([scheduler] timezone)."""
    return format_datetime(when, format="medium", tzinfo=tz, locale=locale_for(code))


def colon(code: str | None) -> str:
    """A colon between a label and its value: French puts a no-break space before it ("Date : …")."""
    return "\u00a0: " if language(code) == "fr" else ": "


def nested(text: str) -> str:
    """A name written inside parentheses: brackets of its own become square ones, "(Garage Dupont SRL [Namur])"."""
    return text.replace("(", "[").replace(")", "]")
