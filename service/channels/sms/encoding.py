"""SMS encoding, normalisation and exact segment counting (3GPP TS 23.038 / 23.040).

Rule 4 of the house: one stray typographic character turns a message into UCS-2 and doubles its
cost, so text is normalised to GSM-7 where that keeps its meaning. Letters are never
transliterated; only spaces, quotes, dashes and invisible characters are touched.

Segments are counted by packing characters greedily into parts, because a GSM-7 extension
character (escape + septet) and a UTF-16 surrogate pair may not be split across two parts; a part
can therefore hold one unit less than the nominal limit. An empty text is 0 segments: providers
refuse an empty body, so there is nothing to send or bill.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from service.channels.base import SMS, SmsCapabilities
from service.channels.sms.gsm7_alphabet import GSM7_ALL, GSM7_EXTENSION

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_SPACES = "\t\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a"
_SPACES += "\u202f\u205f\u3000"

# One character in, one GSM-7 character out (or nothing): never changes the length in units.
_ONE_TO_ONE: dict[str, str] = {
    **dict.fromkeys(_SPACES, " "),
    **dict.fromkeys("\u2018\u2019\u201a\u201b\u2032\u2039\u203a", "'"),  # ‘ ’ ‚ ‛ ′ ‹ ›
    **dict.fromkeys("\u201c\u201d\u201e\u201f\u00ab\u00bb\u2033", '"'),  # “ ” „ ‟ « » ″
    **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),  # ‐ ‑ ‒ – — ― −
    "\u2022": "-",  # • bullet
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
    # Invisible, no meaning in any script: zero-width space, word joiner, BOM, soft hyphen.
    # U+200C (zero-width non-joiner) is NOT here: it is meaningful in Persian.
    **dict.fromkeys("\u200b\u2060\ufeff\u00ad", ""),
}
_TRANSLATION = str.maketrans(_ONE_TO_ONE)
_ONE_TO_ONE_KEYS = frozenset(_ONE_TO_ONE)
_ZWJ = "\u200d"
_CRLF = re.compile(r"\r+\n")
_ELLIPSIS = "\u2026"


@dataclass(frozen=True)
class SmsAnalysis:
    """How a text is sent as SMS: encoding, units, exact segments and what normalising changed."""

    text: str
    encoding: str
    units: int
    characters: int
    segments: int
    per_segment_limit: int
    remaining_in_last_segment: int
    non_gsm_characters: tuple[str, ...]
    replacements: tuple[tuple[str, str, int], ...]
    over_max_segments: bool

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form for check reports and the API."""
        return {
            "text": self.text,
            "encoding": self.encoding,
            "units": self.units,
            "characters": self.characters,
            "segments": self.segments,
            "per_segment_limit": self.per_segment_limit,
            "remaining_in_last_segment": self.remaining_in_last_segment,
            "non_gsm_characters": list(self.non_gsm_characters),
            "replacements": [
                {"original": o, "replacement": r, "count": n} for o, r, n in self.replacements
            ],
            "over_max_segments": self.over_max_segments,
        }


def _first_seen(text: str, chars: set[str] | frozenset[str]) -> list[str]:
    return sorted(chars, key=text.index)


def _drop_stray_joiners(text: str) -> tuple[str, int]:
    """Remove U+200D unless it sits between two non-GSM characters (emoji, Arabic, Indic...)."""
    out: list[str] = []
    removed = 0
    n = len(text)
    for i, ch in enumerate(text):
        if ch != _ZWJ:
            out.append(ch)
            continue
        j = i - 1
        while j >= 0 and text[j] == _ZWJ:
            j -= 1
        k = i + 1
        while k < n and text[k] == _ZWJ:
            k += 1
        if j >= 0 and k < n and text[j] not in GSM7_ALL and text[k] not in GSM7_ALL:
            out.append(ch)
        else:
            removed += 1
    return "".join(out), removed


def _normalise(text: str, caps: SmsCapabilities) -> tuple[str, list[tuple[str, str, int]]]:
    made: list[tuple[str, str, int]] = []
    found = _ONE_TO_ONE_KEYS.intersection(text)
    if found:
        made.extend((c, _ONE_TO_ONE[c], text.count(c)) for c in _first_seen(text, found))
        text = text.translate(_TRANSLATION)
    if _ZWJ in text:
        text, removed = _drop_stray_joiners(text)
        if removed:
            made.append((_ZWJ, "", removed))
    if "\r\n" in text:  # after the removals above, which can bring a CR and an LF together
        text, crlf = _CRLF.subn("\n", text)
        made.append(("\r\n", "\n", crlf))
    if " \n" in text or text.endswith((" ", "\r")):  # trailing spaces (and stray CRs) per line
        trimmed = "\n".join(line.rstrip(" \r") for line in text.split("\n"))
        for c in " \r":
            if n := text.count(c) - trimmed.count(c):
                made.append((c, "", n))
        text = trimmed
    # "…" -> "..." grows the text, so only when it makes the whole message GSM-7 and costs no
    # extra segment (a UCS-2 text keeps its ellipsis).
    if _ELLIPSIS in text and GSM7_ALL.issuperset(set(text) - {_ELLIPSIS}):
        expanded = text.replace(_ELLIPSIS, "...")
        if _count(expanded, caps)[3] <= _count(text, caps)[3]:
            made.append((_ELLIPSIS, "...", text.count(_ELLIPSIS)))
            text = expanded
    return text, made


def normalise_for_sms(text: str, *, caps: SmsCapabilities = SMS) -> str:
    """Replace spaces, quotes, dashes and invisible characters that would force UCS-2."""
    return _normalise(text, caps)[0]


def _pack(text: str, wide: frozenset[str] | None, part: int) -> tuple[int, int]:
    """Greedy packing: (segments, units in the last one); `wide` None means astral = 2 units."""
    segments, used = 1, 0
    for ch in text:
        cost = (2 if ch > "\uffff" else 1) if wide is None else (2 if ch in wide else 1)
        if used + cost > part:
            segments += 1
            used = 0
        used += cost
    return segments, used


def _count(text: str, caps: SmsCapabilities) -> tuple[str, set[str], int, int, int, int]:
    """(encoding, non-GSM characters, units, segments, per-segment limit, units in last)."""
    chars = set(text)
    non_gsm = chars - GSM7_ALL
    if not non_gsm:
        encoding, single, part = GSM7, caps.gsm7_single, caps.gsm7_part
        extension = GSM7_EXTENSION.intersection(chars)
        units = len(text) + sum(text.count(c) for c in extension)
        uneven = bool(extension)
        wide: frozenset[str] | None = GSM7_EXTENSION
    else:
        encoding, single, part = UCS2, caps.ucs2_single, caps.ucs2_part
        units = len(text.encode("utf-16-le", "surrogatepass")) // 2
        uneven = units != len(text)
        wide = None
    if units == 0:
        return encoding, non_gsm, 0, 0, single, 0
    if units <= single:
        return encoding, non_gsm, units, 1, single, units
    if uneven:
        segments, last = _pack(text, wide, part)
    else:
        segments = -(-units // part)
        last = units - (segments - 1) * part
    return encoding, non_gsm, units, segments, part, last


def analyse_sms(text: str, caps: SmsCapabilities = SMS, *, normalise: bool = True) -> SmsAnalysis:
    """Normalise (optionally) and report encoding, units and exact segment count for an SMS."""
    made: list[tuple[str, str, int]] = []
    if normalise:
        text, made = _normalise(text, caps)
    encoding, non_gsm, units, segments, limit, last = _count(text, caps)
    return SmsAnalysis(
        text=text,
        encoding=encoding,
        units=units,
        characters=len(text),
        segments=segments,
        per_segment_limit=limit,
        remaining_in_last_segment=limit - last,
        non_gsm_characters=tuple(sorted(non_gsm)),
        replacements=tuple(made),
        over_max_segments=segments > caps.max_segments,
    )
