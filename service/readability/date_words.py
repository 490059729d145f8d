"""Weekday and month names: a date's words, counted as words but never as long words.

A notice's date ("torsdag 30 september") is its fact, like a number, a time or an address: the
communicator cannot write it shorter, and counting "september" and "torsdag" as long words made
the same easy-read SMS pass or fail LIX by the month it was sent in. The names come from CLDR
(Babel) in the text's own language, as the renderer writes dates.
"""

from __future__ import annotations

from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import get_day_names, get_month_names


@lru_cache(maxsize=64)
def date_words(lang: str) -> frozenset[str]:
    """Lower-case weekday and month names of `lang` (a BCP 47 tag); empty when unknown."""
    try:
        locale = Locale.parse(lang.replace("-", "_"))
    except (ValueError, UnknownLocaleError):
        return frozenset()
    names: set[str] = set()
    for context in ("format", "stand-alone"):
        for width in ("wide", "abbreviated"):
            names.update(get_month_names(width, context, locale).values())
            names.update(get_day_names(width, context, locale).values())
    return frozenset(n.lower().rstrip(".") for n in names if n)
