"""The engine's English messages in the page's language: check findings, reasons, validators.

The checks, the planner and the validator speak English (the API and CLI show it as is). On a
staff page each message is matched against `PHRASES` (its English pattern and a msgid of the
webapp domain with the same parts as placeholders) and shown translated; numbers are written
as the language writes them, and names inside a message (a measure, a channel, another
message) are translated too. A message no pattern knows is shown in English, marked
`lang="en"` by the template (`said` returns None for it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from service.rendering.languages import language_name

if TYPE_CHECKING:  # the layout hands each page a phrasebook
    from service.web.layout import Words

# Quoted text as the engine writes it (Python's repr): 'word' or "word's".
_QUOTED = r"(?:'(?P<{0}>[^']*)'|\"(?P<{0}_>[^\"]*)\")"
_NUMBER = r"-?\d+(?:\.\d+)?"


def _q(name: str) -> str:
    return _QUOTED.format(name)


@dataclass(frozen=True)
class Phrase:
    """An English message pattern and its msgid; `parts` names groups translated themselves."""

    pattern: re.Pattern[str]
    msgid: str
    parts: tuple[str, ...] = ()


def _p(pattern: str, msgid: str, *parts: str) -> Phrase:
    return Phrase(re.compile(pattern), msgid, parts)


MEASURE = (
    r"(?P<measure>LIX|Flesch reading ease|Flesch-Kincaid grade|Average sentence length|"
    r"Long-word share|Share of sentences in passive voice)"
)
# Names inside messages, each a msgid (the measures, the units, the reasons for a skipped limit).
NAMES = (
    "LIX",
    "Flesch reading ease",
    "Flesch-Kincaid grade",
    "Average sentence length",
    "Long-word share",
    "Share of sentences in passive voice",
    "it applies to English only",
    "passive voice is only detected in Swedish",
    "not measured",
    "no word list",
    "sms",
    "email",
    "sendable channel",
    "failed",
)
UNITS = (" or ", "%(n)s words", "%(n)s percentage points")
VALUE = rf"(?P<value>{_NUMBER})(?P<unit>%| words)?"
NOTE = r"(?: \((?P<rule_>.+) is not validated for (?P<tag>[\w-]+)\))?"
# The note a limit's finding carries when its measure is not validated for the language.
NOTE_MSGID = " (%(measure)s is not validated for %(tag)s)"
PHRASES: tuple[Phrase, ...] = (
    # Readability (service.readability.service)
    _p(
        rf"{MEASURE} {VALUE} is over the audience limit (?P<limit>{_NUMBER})%? by "
        rf"(?P<excess>{_NUMBER})(?: percentage points)?{NOTE}",
        "%(measure)s is %(value)s, over the audience's limit of %(limit)s by %(excess)s",
        "measure",
    ),
    _p(
        rf"{MEASURE} {VALUE} is under the audience minimum (?P<limit>{_NUMBER}) by "
        rf"(?P<excess>{_NUMBER}){NOTE}",
        "%(measure)s is %(value)s, under the audience's minimum of %(limit)s by %(excess)s",
        "measure",
    ),
    _p(
        rf"{MEASURE} limit (?P<limit>{_NUMBER}) not checked for (?P<tag>[\w-]+): (?P<why>.+)",
        "The limit for %(measure)s (%(limit)s) is not checked for %(tag)s: %(why)s",
        "measure",
        "why",
    ),
    _p(
        r"Plain-word limit (?P<limit>\d+) not checked for (?P<tag>[\w-]+): (?P<why>.+)",
        "The limit for formal words (%(limit)s) is not checked for %(tag)s: %(why)s",
        "why",
    ),
    _p(
        rf"Sentence (?P<n>\d+) has (?P<words>\d+) words, over the audience limit "
        rf"(?P<limit>{_NUMBER}) by (?P<excess>{_NUMBER})",
        "Sentence %(n)s has %(words)s words: %(excess)s more than the audience's limit of "
        "%(limit)s",
    ),
    _p(
        rf"Sentence (?P<n>\d+) has (?P<words>\d+) words, over the average sentence length limit "
        rf"(?P<limit>{_NUMBER}) by (?P<excess>{_NUMBER})",
        "Sentence %(n)s has %(words)s words: %(excess)s more than the limit for the average "
        "sentence, %(limit)s",
    ),
    _p(
        rf"Long word {_q('word')} has (?P<letters>\d+) letters \(LIX counts over 6 as long\)",
        "The word “%(word)s” has %(letters)s letters (LIX counts words over 6 letters as long)",
    ),
    _p(
        rf"Passive voice {_q('word')} in sentence (?P<n>\d+): say who does what \(active voice\)",
        "Passive voice “%(word)s” in sentence %(n)s: say who does what (active voice)",
    ),
    _p(
        rf"{_q('word')} is formal: write {_q('use')} instead",
        "“%(word)s” is formal: write “%(use)s” instead",
    ),
    _p(
        r"(?P<count>\d+) formal words or phrases, over the audience limit (?P<limit>\d+) by "
        r"(?P<excess>\d+)",
        "%(count)s formal words or phrases: %(excess)s more than the audience's limit of %(limit)s",
    ),
    # SMS (service.variants.checks)
    _p(
        r"the SMS needs (?P<segments>\d+) segments \((?P<encoding>[\w-]+), (?P<units>\d+) units\); "
        r"the audience allows (?P<budget>\d+), so it is (?P<over>\d+) over",
        "The SMS needs %(segments)s parts (%(encoding)s, %(units)s characters); the audience "
        "allows %(budget)s, so it is %(over)s too many",
    ),
    _p(
        r"the SMS needs (?P<segments>\d+) segments; providers accept at most (?P<most>\d+)",
        "The SMS needs %(segments)s parts; the providers accept at most %(most)s",
    ),
    _p(
        r"sent as UCS-2 \((?P<per>\d+) characters per segment\) because of: (?P<chars>.+)",
        "Sent as UCS-2 (%(per)s characters per part) because of: %(chars)s",
    ),
    # Translation (service.variants.checks)
    _p(
        r"the communicator's text \((?P<fields>[^)]+)\) has no (?P<tag>[\w-]+) version; it needs "
        r"a human translation before this variant can be sent",
        "Your own text (%(fields)s) has no %(tag)s version; a person must translate it before "
        "this version can be sent",
    ),
    _p(
        r"(?P<missing>\d+) missing and (?P<fuzzy>\d+) fuzzy messages in the (?P<tag>[\w-]+) "
        r"catalog; English is shown in their place",
        "%(missing)s missing and %(fuzzy)s unchecked texts in the %(tag)s translation; English "
        "is shown in their place",
    ),
    _p(
        r"the communicator's (?P<fields>.+) has no (?P<tag>[\w-]+) version; the Swedish text is "
        r"shown, marked as Swedish",
        "Your %(fields)s has no %(tag)s version; the Swedish text is shown, marked as Swedish",
    ),
    _p(
        r"the (?P<tag>[\w-]+) catalog is a draft, not yet reviewed by a translator",
        "The %(tag)s translation is a draft that no translator has reviewed yet",
    ),
    _p(
        r"the communicator's (?P<field>.+) is in Swedish here, marked as Swedish: it needs "
        r"translation",
        "Your %(field)s is in Swedish here, marked as Swedish: it needs translating",
    ),
    _p(
        r"the communicator's (?P<field>[\w.]+) \((?P<tag>[\w-]+)\): (?P<rest>.+)",
        "Your %(field)s (%(tag)s): %(rest)s",
        "rest",
    ),
    # Why someone cannot be reached (service.delivery.choose, .messages, .tracking)
    _p(
        r"no (?P<channels>.+) among the notice's channels with a contact detail for it",
        "none of the notice's channels (%(channels)s) has a contact detail for them",
        "channels",
    ),
    _p(
        r"hand them a printed notice \(klarvarsel print-pack --audience (?P<audience>[\w-]+)\)",
        "hand them a printed notice (klarvarsel print-pack --audience %(audience)s)",
    ),
    _p(
        r"no address: the recipient was deleted from the register",
        "no address: the person was deleted from the register",
    ),
    _p(r"(?P<channel>sms|email): (?P<rest>.+)", "%(channel)s: %(rest)s", "channel", "rest"),
    # The validator's rarer messages (service.notices)
    _p(
        r"is (?P<n>\d+) characters; at most (?P<most>\d+) are allowed",
        "is %(n)s characters; at most %(most)s are allowed",
    ),
    _p(
        r"has (?P<n>\d+) items; at most (?P<most>\d+) are allowed",
        "has %(n)s items; at most %(most)s are allowed",
    ),
    _p(
        rf"is (?P<n>{_NUMBER}); the lowest allowed is (?P<least>{_NUMBER})",
        "is %(n)s; the lowest allowed is %(least)s",
    ),
    _p(
        rf"is (?P<n>{_NUMBER}); the highest allowed is (?P<most>{_NUMBER})",
        "is %(n)s; the highest allowed is %(most)s",
    ),
    _p(
        r"String should have at most (?P<most>\d+) characters?",
        "may be at most %(most)s characters",
    ),
    _p(
        r"String should have at least (?P<least>\d+) characters?",
        "must be at least %(least)s characters",
    ),
    _p(
        r"List should have at least (?P<least>\d+) items? after validation, not \d+",
        "choose at least %(least)s",
    ),
    _p(r"listed more than once: (?P<items>.+)", "listed more than once: %(items)s"),
    _p(r"item (?P<n>\d+) (?P<rest>.+)", "item %(n)s %(rest)s", "rest"),
    _p(
        r"is not a phone number: use digits, spaces, \+, - and brackets \(021-39 00 00\)",
        "is not a phone number: use digits, spaces, +, - and brackets (021-39 00 00)",
    ),
    _p(
        r"is not an e-mail address such as kris@vasteras.se",
        "is not an e-mail address such as kris@vasteras.se",
    ),
    _p(r"is before the notice is sent", "is before the notice is sent"),
    _p(
        r"exercise_name is only for exercise and test notices",
        "is only for exercise and test notices",
    ),
    _p(
        r"an alert is a first notice and cannot reference another",
        "an alert is a first notice and cannot refer to another",
    ),
    # Hostile characters (service.notices.text_safety) and times (service.notices.fields).
    _p(
        r"contains (?P<char>U\+[0-9A-F]{4,6} [^,]+?) at character (?P<n>\d+), which (?P<why>.+); "
        r"remove it \(retyping the text removes it\)",
        "contains %(char)s at character %(n)s, which %(why)s; remove it (it goes away if you "
        "type the text again)",
        "why",
    ),
    _p(
        r"is before (?P<field>\w+); it must come after it",
        "is before “%(field)s”; it must come after it",
        "field",
    ),
    _p(
        r"is already over \((?P<when>[^)]+)\); the message will say that the end is not known\. "
        r"Set a new time, or send an all-clear if it is over",
        "has already passed (%(when)s); the message will say that the end is not known. Set a "
        "new time, or send the all-clear if it is over",
    ),
    _p(r"fields\.(?P<field>\w+): (?P<rest>.+)", "%(field)s: %(rest)s", "field", "rest"),
)
# Why a character may not be sent (service.notices.text_safety._WHY), each a msgid.
WHY = (
    "changes the order in which text is displayed, so what people read is not what was written",
    "is a control character",
    "is an invisible formatting character",
    "is half of a broken character (a lone surrogate)",
    "is a private-use character that phones show as a box",
    "is not a character in Unicode",
    "is a line separator that phones and SMS do not understand",
    "is a paragraph separator that phones and SMS do not understand",
)
_SAID_NUMBERS = {"value", "limit", "excess", "n", "least", "most"}


class Phrasebook:
    """Messages of the engine in one page language; `said` is None when no phrase knows it."""

    def __init__(self, words: Words, *, scenario: str | None = None) -> None:
        self.words = words
        self.scenario = scenario  # whose field labels name the fields, on a notice's pages

    def said(self, message: str) -> str | None:
        """`message` in the page language, or None (then it is shown in English, marked)."""
        if self.words.language == "en":
            return message
        whole = self._one(message)
        if whole is not None or "; " not in message:
            return whole
        # Several messages joined (an unreachable reason, the reasons per channel).
        said = [self.said(part) for part in message.split("; ")]
        return None if None in said else "; ".join(s for s in said if s is not None)

    def _one(self, message: str) -> str | None:
        known = self.words.translated(message)
        if known:
            return known
        for phrase in PHRASES:
            found = phrase.pattern.fullmatch(message)
            if found is None:
                continue
            values = self._values(found, phrase.parts)
            if values is None:
                return None
            said = self.words.gettext(phrase.msgid, **values)
            rule = found.groupdict().get("rule_")
            if rule:
                measure = self.words.translated(rule)
                if measure is None:
                    return None
                said += self.words.gettext(NOTE_MSGID, measure=measure, tag=values["tag"])
            return said
        return None

    def _values(self, found: re.Match[str], parts: tuple[str, ...]) -> dict[str, str] | None:
        values: dict[str, str] = {}
        for name, value in found.groupdict().items():
            if name == "rule_":  # said in _one, after the sentence it belongs to
                continue
            key = name.rstrip("_")
            if value is None:
                values.setdefault(key, "")
                continue
            if key in parts:
                translated = self._part(key, value)
                if translated is None:
                    return None
                value = translated
            elif key in _SAID_NUMBERS:
                value = self._number(key, value, found.groupdict().get("unit") or "")
            elif key == "tag":
                value = self.language(value)
            values[key] = value
        values.pop("unit", None)
        return values

    def _part(self, key: str, value: str) -> str | None:
        if key == "channels":
            names = [self.words.translated(c) for c in value.split(" or ")]
            if None in names:
                return None
            return self.words.gettext(" or ").join(n for n in names if n)
        if key == "rest":
            return self.said(value)
        if key == "field":
            return field_labels(self.words.language, self.scenario).get(value)
        return self.words.translated(value)

    def language(self, tag: str) -> str:
        """A language tag as the page language names it ("so" -> "somaliska"), else the tag."""
        return language_name(tag, self.words.language) or tag

    def _number(self, key: str, value: str, unit: str) -> str:
        """A number as the language writes it, with its unit (a share: %, points)."""
        shown = value.replace(".", ",") if self.words.language == "sv" else value
        if unit == "%":
            if key == "excess":
                return self.words.gettext("%(n)s percentage points", n=shown)
            return f"{shown} %" if self.words.language == "sv" else f"{shown}%"
        if unit == " words" and key == "value":
            return self.words.gettext("%(n)s words", n=shown)
        return shown


@lru_cache(maxsize=64)
def field_labels(language: str, scenario: str | None = None) -> dict[str, str]:
    """A field's name -> its label in `language`, from the scenario (or where all agree)."""
    from service.config import get_settings
    from service.content import get_library

    scenarios = get_library(get_settings()).scenarios
    chosen = [scenarios[scenario]] if scenario in scenarios else list(scenarios.values())
    seen: dict[str, set[str]] = {}
    for spec_of in chosen:
        for spec in spec_of.fields:
            if label := spec.label.get(language):
                seen.setdefault(spec.name, set()).add(label)
    return {name: labels.pop() for name, labels in seen.items() if len(labels) == 1}


def msgids() -> set[str]:
    """Every msgid the phrasebook uses (for the catalog test)."""
    return {p.msgid for p in PHRASES} | set(NAMES) | set(UNITS) | set(WHY) | {NOTE_MSGID}
