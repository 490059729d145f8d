"""Characters that must never reach a message: control characters and invisible reordering.

A right-to-left override (U+202E) makes "021-39 00 00" display as a different number than the
one sent; a NUL is cut off or refused by providers; a zero-width space splits a phone number so
a phone cannot dial it. The communicator sees nothing wrong in any of them, so they are refused
with the character's name and place, never silently removed (the text must stay what was typed).

Allowed where a language needs them, in communicator free text only: zero-width (non-)joiners
(Persian, Arabic and every script with ligatures; emoji), and the directional marks LRM, RLM
and ALM in right-to-left languages. Tabs and line breaks are allowed in free text (notes,
translated texts), where the renderer turns them into ordinary spaces and paragraphs.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Any

ZWNJ, ZWJ = "\u200c", "\u200d"
DIRECTION_MARKS = frozenset({"\u200e", "\u200f", "\u061c"})  # LRM, RLM, ALM
FREE_TEXT_WHITESPACE = frozenset({"\n", "\r", "\t"})
MAX_SHOWN_VALUE = 40

# Explanations by Unicode general category (plus the bidi controls, which are "Cf").
_WHY = {
    "bidi": "changes the order in which text is displayed, so what people read is not what "
    "was written",
    "Cc": "is a control character",
    "Cf": "is an invisible formatting character",
    "Cs": "is half of a broken character (a lone surrogate)",
    "Co": "is a private-use character that phones show as a box",
    "Cn": "is not a character in Unicode",
    "Zl": "is a line separator that phones and SMS do not understand",
    "Zp": "is a paragraph separator that phones and SMS do not understand",
}
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


# Unicode gives control characters no names, only aliases; these are the ones people meet.
_CONTROL_NAMES = {
    0x00: "NULL",
    0x07: "BELL",
    0x08: "BACKSPACE",
    0x09: "TAB",
    0x0A: "LINE FEED",
    0x0B: "VERTICAL TAB",
    0x0C: "FORM FEED",
    0x0D: "CARRIAGE RETURN",
    0x1B: "ESCAPE",
    0x7F: "DELETE",
}


def character_name(char: str) -> str:
    """'U+202E RIGHT-TO-LEFT OVERRIDE', readable in an error message."""
    fallback = _CONTROL_NAMES.get(ord(char), "CONTROL CHARACTER")
    return f"U+{ord(char):04X} {unicodedata.name(char, fallback)}"


def _allowed(char: str, *, free_text: bool, rtl: bool) -> bool:
    if free_text and char in FREE_TEXT_WHITESPACE:
        return True
    if free_text and char in (ZWNJ, ZWJ):
        return True
    return free_text and rtl and char in DIRECTION_MARKS


def unsafe_characters(text: str, *, free_text: bool = False, rtl: bool = False) -> list[str]:
    """Why `text` cannot be sent: one sentence per kind of bad character, naming its place."""
    found: dict[str, int] = {}
    for index, char in enumerate(text):
        if char in found:
            continue
        category = unicodedata.category(char)
        if char in _BIDI_CONTROLS:
            kind = "bidi"
        elif category in _WHY:
            kind = category
        else:
            continue
        if not _allowed(char, free_text=free_text, rtl=rtl):
            found[char] = index
    problems = []
    for char, index in found.items():
        kind = "bidi" if char in _BIDI_CONTROLS else unicodedata.category(char)
        problems.append(
            f"contains {character_name(char)} at character {index + 1}, which {_WHY[kind]}; "
            "remove it (retyping the text removes it)"
        )
    return problems


def shown(value: str) -> str:
    """A user value for an error message: repr'd and shortened, so a huge value stays small."""
    if len(value) > MAX_SHOWN_VALUE:
        value = value[: MAX_SHOWN_VALUE - 1] + "…"
    return repr(value)


def walk_strings(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """Every string in a JSON value (dictionary keys too), with its path, in document order.

    A loop, not recursion: a notice file nested hundreds of levels deep must get an answer.
    """
    stack: list[tuple[tuple[str, ...], Any]] = [(path, value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, str):
            yield where, item
        elif isinstance(item, dict):
            children: list[tuple[tuple[str, ...], Any]] = []
            for key, child in item.items():
                if isinstance(key, str):
                    children.append(((*where, "<key>"), key))
                children.append(((*where, str(key)), child))
            stack += reversed(children)
        elif isinstance(item, list):
            stack += reversed([((*where, str(i)), child) for i, child in enumerate(item)])
