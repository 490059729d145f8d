"""Swedish s-passive detection: a conservative heuristic (false alarms cost more than misses).

A word ending in -s is reported as passive when it is not on the shipped exception list
(deponent and reciprocal verbs, adverbs, genitives, nouns) and either

- follows an auxiliary, with only adverbs or pronouns between: a modal ("ska", "kan", "måste",
  "bör", "får", "behöver", "kommer att", infinitive "att") before an infinitive ending in
  vowel + s ("stängas", "tas", "ges"), or "har"/"hade"/"ha" before a supine in -ts ("stängts");
- or has a typical passive ending on its own: -ades ("öppnades"), consonant + -des/-tes
  ("stängdes", "köptes"), consonant + -as ("öppnas", "uppmanas"; not after a possessive or
  article, as in "en timmas"), or a present passive such as -ängs, -ggs, -ljs, -lls, -nns, -öms,
  -cks, -pps, -tts, -örs, -ärs, -yrs, -ids, -eds ("stängs", "läggs", "hålls", "töms", "sprids").

Capitalised words (names, sentence starts) are skipped; all-capital headings are checked.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib.resources import files

from service.readability.models import Sentence, Word

_VOWELS = frozenset("aeiouyåäöé")


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


_MODALS = _words(
    "ska skall skulle kan kunde kunna måste bör borde får fick behöver behövde brukar "
    "lär tänks vill ville att"
)
_PERFECT = frozenset({"har", "hade", "ha", "haft"})
_SKIPPABLE = _words(
    "inte ej icke också även nog redan snart bara endast alltid aldrig helst gärna därför "
    "troligen troligtvis kanske fortfarande genast omedelbart direkt då nu sedan sen heller "
    "igen åter dock alltså ju väl dessutom tyvärr tillfälligt det den de detta dessa du ni vi "
    "man han hon jag"
)
_GENITIVE_DETERMINERS = _words(
    "en ett varje min din sin vår er mina dina sina våra era deras hans hennes dess vars "
    "denna detta"
)
_PRESENT_ENDINGS = (
    "ängs",
    "ungs",
    "ggs",
    "ljs",
    "lls",
    "nns",
    "mns",
    "mms",
    "öms",
    "cks",
    "pps",
    "tts",
    "örs",
    "ärs",
    "yrs",
    "ids",
    "eds",
    "uds",
    "öps",
    "äps",
    "öks",
    "äks",
)


@cache
def not_passive_words() -> frozenset[str]:
    """The shipped exception list (deponents, reciprocals, -s words that are not verbs)."""
    path = files("service.readability").joinpath("wordlists", "sv_not_passive.toml")
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    words: set[str] = set()
    for group in data.values():
        words.update(str(w).lower() for w in group)
    return frozenset(words)


def _auxiliary(words: list[str], index: int) -> str | None:
    """The auxiliary kind ("modal" or "perfect") governing ``words[index]``, if any."""
    for j in range(index - 1, max(index - 5, -1), -1):
        w = words[j]
        if w in _PERFECT:
            return "perfect"
        if w in _MODALS:
            return "modal"
        if w not in _SKIPPABLE:
            return None
    return None


def _passive_alone(low: str, previous: str | None) -> bool:
    if len(low) < 5:
        return False
    if low.endswith("ades"):
        return len(low) >= 6
    if low.endswith(("des", "tes")):
        return len(low) >= 6 and low[-4] not in _VOWELS
    if low.endswith("as"):
        return (
            low[-3] not in _VOWELS
            and not low.endswith("rnas")
            and previous not in _GENITIVE_DETERMINERS
        )
    return low.endswith(_PRESENT_ENDINGS) and not low.endswith("ings")


def is_passive(words: list[str], index: int, original: str) -> bool:
    """Whether ``words[index]`` (lower-cased sentence words) is an s-passive verb."""
    low = words[index]
    if not low.endswith("s") or len(low) < 3 or not low.isalpha():
        return False
    if original[0].isupper() and not original.isupper():
        return False
    if low in not_passive_words():
        return False
    aux = _auxiliary(words, index)
    if aux == "perfect":
        return low.endswith("ts")
    if aux == "modal":
        return low[-2] in _VOWELS
    return _passive_alone(low, words[index - 1] if index else None)


def find_passives(sentence: Sentence) -> list[Word]:
    """The s-passive verbs in one sentence."""
    tokens = [w for w in sentence.words if w.kind == "word"]
    lowered = [w.text.lower() for w in tokens]
    return [w for i, w in enumerate(tokens) if is_passive(lowered, i, w.text)]
