"""Bureaucratic words and phrases and their everyday alternatives, from shipped TOML lists.

Lists live in ``wordlists/<lang>.toml`` (see the header of ``sv.toml`` for the format); each is
loaded and compiled into one regular expression on first use and then cached.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

_STEM_TAIL = r"[^\W\d_]*"
_BEFORE = r"(?<![\w\-])"
_AFTER = r"(?![\w\-])"


@dataclass(frozen=True, slots=True)
class PlainTerm:
    """One formal word or phrase and its everyday alternative."""

    term: str
    use: str
    patterns: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class PlainWordHit:
    """A formal word or phrase found in a text."""

    start: int
    end: int
    term: PlainTerm


@dataclass(frozen=True, slots=True)
class PlainWordList:
    """A compiled list for one language."""

    terms: tuple[PlainTerm, ...]
    regex: re.Pattern[str]

    def find(self, text: str) -> list[PlainWordHit]:
        """All non-overlapping hits in ``text``, longest phrase first at each position."""
        hits: list[PlainWordHit] = []
        for m in self.regex.finditer(text):
            group = m.lastgroup
            if group is not None:
                hits.append(PlainWordHit(m.start(), m.end(), self.terms[int(group[1:])]))
        return hits


def _pattern_regex(pattern: str) -> str:
    parts = []
    for word in pattern.split():
        if word.endswith("*"):
            parts.append(re.escape(word[:-1]) + _STEM_TAIL)
        else:
            parts.append(re.escape(word))
    return r"\s+".join(parts)


def parse_terms(source: str) -> tuple[PlainTerm, ...]:
    """Terms from the TOML text of a word list."""
    data = tomllib.loads(source)
    terms: list[PlainTerm] = []
    for key, value in data.get("terms", {}).items():
        if isinstance(value, str):
            use, patterns = value, [key]
        else:
            use = str(value["use"])
            patterns = [str(p) for p in value.get("match", [key])]
        terms.append(PlainTerm(term=key, use=use, patterns=tuple(p.lower() for p in patterns)))
    return tuple(terms)


def compile_terms(terms: tuple[PlainTerm, ...]) -> PlainWordList:
    """One case-insensitive regex with a named group per term, longer phrases tried first."""

    def weight(i: int) -> tuple[int, int]:
        longest = max(terms[i].patterns, key=len)
        return (-len(longest.split()), -len(longest))

    groups = []
    for i in sorted(range(len(terms)), key=weight):
        alternatives = sorted(terms[i].patterns, key=len, reverse=True)
        body = "|".join(_pattern_regex(p) for p in alternatives)
        groups.append(f"(?P<t{i}>{body})")
    regex = re.compile(_BEFORE + "(?:" + "|".join(groups) + ")" + _AFTER, re.IGNORECASE)
    return PlainWordList(terms=terms, regex=regex)


@cache
def plain_word_list(primary: str) -> PlainWordList | None:
    """The compiled list for a primary language subtag, or None if none is shipped."""
    resource = files("service.readability").joinpath("wordlists", f"{primary}.toml")
    if not primary.isalpha() or not resource.is_file():
        return None
    return compile_terms(parse_terms(resource.read_text(encoding="utf-8")))


def find_plain_words(text: str, primary: str) -> list[PlainWordHit]:
    """Formal words and phrases in ``text`` for a language; empty if no list is shipped."""
    words = plain_word_list(primary)
    return words.find(text) if words is not None else []
