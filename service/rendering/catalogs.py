"""Gettext catalogs read straight from .po files, with per-message status for the report.

We read the .po (not compiled .mo) so there is no compile step to forget, and so we can tell a
fuzzy translation from a missing one: both fall back to the English source text, as GNU gettext
does, but the variant records them and fails its check instead of being sent as if reviewed.
"""

from __future__ import annotations

import gettext as gnu_gettext
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po


class MessageStatus(StrEnum):
    """The state of one message in one language."""

    source = "source"  # English: the msgid is the text
    translated = "translated"
    fuzzy = "fuzzy"  # the English changed since translation; needs a translator's look
    missing = "missing"


@dataclass(frozen=True)
class Entry:
    """One translated message: singular text or plural forms."""

    forms: tuple[str, ...]
    fuzzy: bool


@dataclass(frozen=True)
class MessageCatalog:
    """All messages of one language and domain."""

    language: str
    entries: dict[str, Entry]
    plural: Callable[[int], int]
    num_plurals: int
    exists: bool = True

    def lookup(self, msgid: str, n: int | None = None) -> tuple[str | None, MessageStatus]:
        """The translation (None if unusable) and its status."""
        entry = self.entries.get(msgid)
        if entry is None or not any(entry.forms):
            return None, MessageStatus.missing
        if entry.fuzzy:
            return None, MessageStatus.fuzzy
        index = 0 if n is None else self.plural(n)
        text = entry.forms[min(index, len(entry.forms) - 1)]
        return (text, MessageStatus.translated) if text else (None, MessageStatus.missing)


def _english_plural(n: int) -> int:
    return 0 if n == 1 else 1


ENGLISH = MessageCatalog(language="en", entries={}, plural=_english_plural, num_plurals=2)


@lru_cache
def load_catalog(locales_dir: Path, language: str, domain: str = "messages") -> MessageCatalog:
    """The catalog for `language` (an empty one marked missing if there is no .po file)."""
    if language == "en":
        return ENGLISH
    path = locales_dir / language / "LC_MESSAGES" / f"{domain}.po"
    if not path.exists():
        return MessageCatalog(language, {}, _english_plural, 2, exists=False)
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=None, domain=domain)
    entries: dict[str, Entry] = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple | list) else message.id
        forms = message.string if isinstance(message.string, tuple | list) else (message.string,)
        entries[key] = Entry(tuple(form or "" for form in forms), message.fuzzy)
    # The Plural-Forms header written in the file decides, not Babel's CLDR table: the two
    # order Arabic's forms differently, and translators' tools follow the header.
    expression = _plural_expression(catalog)
    plural = gnu_gettext.c2py(expression) if expression else _english_plural
    return MessageCatalog(language, entries, plural, catalog.num_plurals)


def _plural_expression(catalog: Catalog) -> str | None:
    # Read from the parsed header: `make messages` (like msgmerge) wraps a long Plural-Forms
    # line, so the expression may span several lines of the file.
    header = dict(catalog.mime_headers).get("Plural-Forms", "")
    if "plural=" not in header:
        return None
    return header.split("plural=", 1)[1].strip().rstrip(";").strip()


@dataclass
class UsageTracker:
    """Records which messages a render used and in what state, for the variant's report."""

    catalog: MessageCatalog
    used: dict[str, MessageStatus] = field(default_factory=dict)

    def gettext(self, msgid: str) -> str:
        """The translation of `msgid`, or the English text when none is usable."""
        if self.catalog.language == "en":
            self.used[msgid] = MessageStatus.source
            return msgid
        text, status = self.catalog.lookup(msgid)
        self.used[msgid] = status
        return msgid if text is None else text

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The plural form of `singular` for `n`, or the English form when none is usable."""
        english = singular if n == 1 else plural
        if self.catalog.language == "en":
            self.used[singular] = MessageStatus.source
            return english
        text, status = self.catalog.lookup(singular, n)
        self.used[singular] = status
        return english if text is None else text

    def problems(self) -> dict[str, list[str]]:
        """Msgids that fell back to English, grouped by status (fuzzy, missing)."""
        result: dict[str, list[str]] = {}
        for msgid, status in self.used.items():
            if status in (MessageStatus.fuzzy, MessageStatus.missing):
                result.setdefault(status.value, []).append(msgid)
        return result
