"""Our own sentence splitter and word tokenizer (textstat's are wrong for short easy-read text).

Rules:
- Every line break ends a sentence: list items and headings have no final punctuation.
  A leading bullet ("- ", "• ", "* ") or list number ("1. ", "2) ") is not part of the sentence.
- ``. ! ? …`` (and ‼ ⁇ ⁈ ⁉) end a sentence only when followed by whitespace or the end of the
  line, so decimals, times, dates, URLs and e-mail addresses never split ("10.30", "23.11.2026",
  "www.vasteras.se/kris"). Closing quotes and brackets after them stay with the sentence.
- A dot or ellipsis followed by a lower-case letter does not end a sentence (unknown
  abbreviations, "osv. och"); a dot after a known abbreviation ("kl.", "t.ex.", "Dr.") never does.
- Arabic/Persian "؟", "۔" and Ethiopic "።", "፧" always end a sentence.
- A fragment without any word (a lone emoji, "---") is not a sentence.

Words are runs of letters and digits (any script, combining marks and ZWNJ included) joined by
hyphens, apostrophes, colons, dots or slashes ("t.ex", "112:an", "COVID-19", "och/eller"); digit
groups joined by a space count as one number ("30 000", "021-39 00 00"); web and e-mail
addresses are one word. Numbers and addresses are words but never long words.

The invisible bidi controls the renderer puts around numbers and addresses in right-to-left text
(isolates U+2066-U+2069, and the marks LRM/RLM/ALM) are no part of any word and stand beside a
sentence's final stop like a closing quote, so a text is counted the same with or without them.
"""

from __future__ import annotations

import re
from typing import Literal

from service.readability.models import Sentence, Word

_MARKS = (
    "\u0300-\u036f\u0483-\u0489\u0591-\u05bd\u05bf\u05c1\u05c2\u05c4\u05c5\u05c7"
    "\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06dc\u06df-\u06e4\u06e7\u06e8\u06ea-\u06ed"
    "\u0e31\u0e34-\u0e3a\u135d-\u135f\u200c\u200d"
)
_ALNUM = rf"(?:[^\W_]|[{_MARKS}])"
_CONNECTOR = r"(?:[-\u2010\u2011\u2013'\u2019:./]|(?<=\d)[,\u00a0\u202f ](?=\d))"
# Isolates, embeddings and overrides, and the marks LRM, RLM and ALM.
_BIDI = "\u2066\u2067\u2068\u2069\u202a\u202b\u202c\u202d\u202e\u200e\u200f\u061c"
_URL_END = rf"[^\s<>\"'()\[\].,;:!?{_BIDI}]"
_URL_CHAR = rf"[^\s<>\"'()\[\]{_BIDI}]"
_ADDRESS = (
    rf"(?:https?://|www\.){_URL_CHAR}*{_URL_END}"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"
    # A host: a domain we know the ending of, an IP address or localhost (a test server's link
    # is still one address), with an optional port and path.
    r"|(?:[^\W_][\w-]*(?:\.[\w-]+)*\.(?:se|nu|com|org|net|eu|fi|no|dk|info|gov|io)\b"
    r"|\d{1,3}(?:\.\d{1,3}){3}(?=[:/])|localhost(?=[:/]))(?::\d{1,5})?"
    rf"(?:/{_URL_CHAR}*{_URL_END})?"
)
_TOKEN = re.compile(rf"(?P<address>{_ADDRESS})|{_ALNUM}+(?:{_CONNECTOR}{_ALNUM}+)*")

_TERMINAL = re.compile(
    r"[.!?\u2026\u203c\u2047\u2048\u2049\u061f\u06d4\u1362\u1367]+"
    rf"[\"'\u201d\u2019\u00bb)\]{_BIDI}]*"
)
_HARD_TERMINALS = frozenset("\u061f\u06d4\u1362\u1367")  # ؟ ۔ ። ፧
_SOFT_TERMINALS = frozenset(".\u2026")  # . …
_CLOSERS = "\"'\u201d\u2019\u00bb)]" + _BIDI
_OPENERS = "([{\"'\u00ab\u201c\u201e\u2018" + _BIDI
_BULLET_MARKS = "-\u2013\u2014\u2022*\u00b7\u25aa\u25e6\u2023\u25cf\u25a0\u27a2\u25ba\u2713\u2714"
_BULLET = re.compile(rf"[ \t]*(?:[{_BULLET_MARKS}]|\d{{1,2}}[.)])[ \t]+")

# Abbreviations after which a dot never ends a sentence (lower-case, with their final dot).


def _words(words: str) -> frozenset[str]:
    return frozenset(words.split())


_NEVER_FINAL = _words(
    # Swedish
    "kl. t.ex. bl.a. d.v.s. dvs. ca. nr. tel. tfn. s.k. p.g.a. pga. fr.o.m. t.o.m. f.d. jfr. "
    "resp. ang. enl. inkl. exkl. st. ev. fr. f.n. m.a.o. tf. sid. "
    # English
    "e.g. i.e. mr. mrs. ms. dr. prof. vs. approx. dept. mt. ft. fig. cf. viz. incl. est. ref. "
    # Finnish
    "esim. ns. n. puh. ks. vrt. ts. os. klo. mm. "
    # Polish
    "ul. np. tj. tzn. godz. m.in. al. pl. inż. św. "
    # Ukrainian
    "вул. тел. напр. див. ім. проф. пров. просп. м."
)
# Abbreviations only before a number ("No. 5"); elsewhere the word may end a sentence.
_BEFORE_NUMBER = frozenset({"no.", "nos.", "art.", "p.", "pp."})


def tokenize(text: str, start: int = 0, end: int | None = None) -> list[Word]:
    """Word tokens of ``text[start:end]`` with offsets into ``text``."""
    words: list[Word] = []
    stop = len(text) if end is None else end
    for m in _TOKEN.finditer(text, start, stop):
        token = m.group()
        letters = sum(1 for c in token if c.isalpha())
        kind: Literal["word", "number", "address"]
        if m.group("address") is not None:
            kind = "address"
        elif letters == 0:
            kind = "number"
        else:
            kind = "word"
        words.append(Word(token, m.start(), m.end(), letters, kind))
    return words


def _is_boundary(line: str, m: re.Match[str]) -> bool:
    run = m.group()
    if any(c in _HARD_TERMINALS for c in run):
        return True
    after = m.end()
    if after < len(line) and not line[after].isspace():
        return False
    core = run.rstrip(_CLOSERS)
    if any(c not in _SOFT_TERMINALS for c in core):
        return True  # ! or ? followed by whitespace
    rest = line[after:].lstrip().lstrip(_BIDI)
    if not rest:
        return True
    nxt = rest[0]
    if nxt.islower():
        return False
    if core == ".":
        chunk_start = m.start()
        while chunk_start > 0 and not line[chunk_start - 1].isspace():
            chunk_start -= 1
        chunk = line[chunk_start : m.start() + 1].lstrip(_OPENERS).lower()
        if chunk in _NEVER_FINAL:
            return False
        if chunk in _BEFORE_NUMBER and nxt.isdigit():
            return False
    return True


def _emit(text: str, start: int, end: int, out: list[Sentence]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if start >= end:
        return
    words = tokenize(text, start, end)
    if words:
        out.append(Sentence(text[start:end], start, end, tuple(words)))


def split_sentences(text: str, lang: str = "und") -> list[Sentence]:
    """Split ``text`` into sentences, list items and headings with offsets into ``text``.

    ``lang`` is accepted for future language-specific rules; the abbreviation list covers all
    supported languages at once.
    """
    del lang
    sentences: list[Sentence] = []
    offset = 0
    for raw in text.splitlines(keepends=True):
        content = raw.splitlines()[0] if raw else ""
        bullet = _BULLET.match(content)
        begin = bullet.end() if bullet else 0
        line = content[begin:]
        base = offset + begin
        seg_start = 0
        for m in _TERMINAL.finditer(line):
            if _is_boundary(line, m):
                _emit(text, base + seg_start, base + m.end(), sentences)
                seg_start = m.end()
        _emit(text, base + seg_start, base + len(line), sentences)
        offset += len(raw)
    return sentences
