"""Keeping numbers, addresses, codes and links in reading order inside right-to-left text.

The Unicode bidirectional algorithm lays out digits next to Arabic letters as Arabic numbers, and
the spaces, hyphens, dots and slashes between them take the direction of the Arabic text around
them, so "021-39 13 00" shows as "00 13 39-021" and "113 13" as "13 113". The cure is an
isolate: everything inside is laid out left to right as one unit (U+2066 LRI ... U+2069 PDI in
plain text, an element with `dir` in HTML, which HTML isolates: `[dir] {unicode-bidi: isolate}`).

Why a pass over the rendered text rather than isolates written into templates or catalogs: left-
to-right runs reach a message from everywhere (filters, contact details, the public link, the
communicator's addresses, a municipality's own edited template, and numbers such as "112" or
"114 14" written inside the translated sentences). Isolates in catalogs are invisible in .po
editors, are dropped or misplaced by translation tools and machine translation, and every
translator and template author would have to remember them; one missed "114 14" is a wrong
number in a crisis. A pass over the output sees every run whatever its source and cannot be
forgotten. It only touches runs of left-to-right letters and digits joined by separators (no
Arabic letter inside), so the right-to-left sentence itself is never changed.

Communicator text written left to right (a route, an address) is isolated as a whole where it
is inserted (`Isolated`) when its own punctuation would move ("... närmast Mälaren."): the pass
cannot tell where a value ends. Right-to-left communicator text needs no wrapper; the numbers in
it are isolated by the pass like any others.
"""

from __future__ import annotations

import html as html_lib
import re
import string
import unicodedata

from markupsafe import Markup, escape

from service.channels.sms.encoding import GSM7, analyse_sms

LRI, RLI, FSI, PDI = "\u2066", "\u2067", "\u2068", "\u2069"
ISOLATE_CONTROLS = frozenset(LRI + RLI + FSI + PDI)
_OPEN_ISOLATE = {LRI: "ltr", RLI: "rtl", FSI: "auto"}

# Separators that may join left-to-right letters and digits into one run: ASCII punctuation and
# the spaces and dashes we write. Arabic punctuation (، ؛ ؟) belongs to the sentence around it.
_INNER = frozenset(
    string.punctuation + " \u00a0\u202f\u2007\u2009\u2010\u2011\u2012\u2013\u2014\u2212"
)
_SIGNS = frozenset("+-\u2212")  # before a digit: "+46 21 ...", "-5"
_PAIRS = {")": "(", "]": "[", "}": "{"}
_OPENERS = frozenset(_PAIRS.values())


def _core(char: str) -> bool:
    """A strong left-to-right letter or a digit (any script)."""
    if char.isdigit():
        return True
    return unicodedata.bidirectional(char) == "L" and unicodedata.category(char) != "Cf"


def direction(text: str) -> str:
    """'rtl' or 'ltr' by the first strong letter outside isolates (UAX #9 P2-P3), as FSI does."""
    depth = 0
    for char in text:
        if char in _OPEN_ISOLATE:
            depth += 1
        elif char == PDI:
            depth = max(0, depth - 1)
        elif not depth:
            kind = unicodedata.bidirectional(char)
            if kind in ("R", "AL"):
                return "rtl"
            if kind == "L":
                return "ltr"
    return "ltr"  # digits and punctuation only: a number, laid out left to right


def _letter(char: str) -> bool:
    return not char.isdigit() and _core(char)


def _reorderable(run: str) -> bool:
    """Whether the bidi algorithm would lay out this left-to-right run wrongly in RTL text.

    Every isolate costs a UCS-2 unit in an SMS, so only runs that need one get it (UAX #9):
    - after a left-to-right letter, European digits count as letters (W7) and separators
      between letters take their direction (N1): "Västerås stad", "Kyrkvägen 1",
      "www.vasteras.se/kris" are laid out as written;
    - numbers next to Arabic letters are Arabic numbers (W2), which a single common separator
      joins (W4: "14:00", "1.5", "30 000" with a no-break space) but a space, hyphen, slash
      or plus does not: "021-39 13 00", "113 13", "+46 21", "127.0.0.1:8000/n/AB12CD".
    We write digits in Latin script (Babel's default numbering system and the catalogs'
    text); groups of Arabic-Indic digits follow the right-to-left order even inside an LTR
    isolate, so they are not this function's to mend.
    """
    for i, char in enumerate(run):
        if _letter(char):
            return i > 0 and not run[i - 1].isdigit()  # a separator between number and letter
        if char.isdigit():
            continue
        between = 0 < i < len(run) - 1 and run[i - 1].isdigit() and run[i + 1].isdigit()
        if not (between and unicodedata.bidirectional(char) == "CS"):
            return True
    return False


def _trim(text: str, start: int, end: int) -> tuple[int, int]:
    """Drop separators at both ends of a run, but keep both brackets of a pair it holds one of."""
    region_start, region_end = start, end
    while start < end and not _core(text[start]):
        if text[start] in _SIGNS and text[start + 1 : start + 2].isdigit():
            break  # the sign of a number
        start += 1
    while end > start and not _core(text[end - 1]):
        end -= 1
    partner: dict[int, int] = {}
    stack: list[int] = []
    for i in range(region_start, region_end):
        if text[i] in _OPENERS:
            stack.append(i)
        elif text[i] in _PAIRS and stack and text[stack[-1]] == _PAIRS[text[i]]:
            opener = stack.pop()
            partner[opener], partner[i] = i, opener
    inside = [partner[i] for i in range(start, end) if i in partner]
    return min([start, *inside]), max([end, *(i + 1 for i in inside)])


# A run that starts with a letter is laid out as written (`_reorderable`), so only text with a
# digit, a sign or an opening bracket can hold one that is not: most text is passed at C speed.
_MAYBE_REORDERED = re.compile(r"[\d+(\[{]")
_CORE, _JOIN, _BREAK = 0, 1, 2
_KINDS: dict[str, int] = {}  # per character, filled as characters are met


def _kind(char: str) -> int:
    kind = _KINDS.get(char)
    if kind is None:
        if _core(char):
            kind = _CORE
        elif char in _INNER or unicodedata.bidirectional(char) in ("NSM", "BN"):
            kind = _JOIN
        else:
            kind = _BREAK
        _KINDS[char] = kind
    return kind


def ltr_runs(text: str) -> list[tuple[int, int]]:
    """(start, end) of every left-to-right run that needs an isolate, outside LTR isolates.

    A run is letters and digits of left-to-right text joined by separators (see `_reorderable`
    for which of them the algorithm would reorder).
    """
    text = str(text)
    runs: list[tuple[int, int]] = []
    if not _MAYBE_REORDERED.search(text):
        return runs
    stack: list[str] = []
    start: int | None = None
    joined = False  # a separator since `start`: a lone word or number needs nothing

    def close(end: int) -> None:
        if start is not None and joined:
            s, e = _trim(text, start, end)
            if _reorderable(text[s:e]):
                runs.append((s, e))

    for i, char in enumerate(text):
        if char in ISOLATE_CONTROLS:
            close(i)
            start = None
            if char == PDI:
                if stack:
                    stack.pop()
            else:
                stack.append(_OPEN_ISOLATE[char])
        elif stack and stack[-1] == "ltr":
            continue  # already laid out left to right
        else:
            kind = _kind(char)
            if kind == _BREAK:
                close(i)
                start = None
            elif start is None:
                signed = char in _SIGNS and text[i + 1 : i + 2].isdigit()
                if kind == _CORE or char in _OPENERS or signed:  # a space starts nothing
                    start, joined = i, kind == _JOIN
            elif kind == _JOIN:
                joined = True
    close(len(text))
    return runs


def isolate_text(text: str) -> str:
    """Plain text with every left-to-right run wrapped in LRI ... PDI (idempotent)."""
    out: list[str] = []
    previous = 0
    for start, end in ltr_runs(text):
        out += [text[previous:start], LRI, text[start:end], PDI]
        previous = end
    out.append(text[previous:])
    return "".join(out)


def strip_isolates(text: str) -> str:
    """The text without the isolate characters the renderer added."""
    return "".join(c for c in text if c not in ISOLATE_CONTROLS)


def isolate_sms(text: str) -> str:
    """Isolates in a right-to-left SMS, unless the text would otherwise be GSM-7.

    An isolate is not in the GSM-7 alphabet: it would turn a message that fits GSM-7 (an Arabic
    variant that fell back to English, say) into UCS-2, doubling its cost. Arabic, Persian and
    Dari text is UCS-2 anyway, where each isolate costs one unit.
    """
    plain = strip_isolates(text)
    if analyse_sms(plain, normalise=False).encoding == GSM7:
        return plain
    return isolate_text(text)


# Tags, comments and declarations; attribute values may hold ">" only inside quotes.
_TAG = re.compile(r"<!--.*?-->|<[!?/]?[A-Za-z][^>\"']*(?:(?:\"[^\"]*\"|'[^']*')[^>\"']*)*>", re.S)
_NAME = re.compile(r"</?([A-Za-z][\w:-]*)")
_DIR = re.compile(r"\sdir\s*=\s*(?:\"([^\"]*)\"|'([^']*)'|([^\s>]+))", re.I)
VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
# Never laid out as message text: the head (the title is isolated as plain text), styles,
# scripts and drawings.
_HIDDEN = frozenset({"head", "title", "style", "script", "svg", "textarea", "template"})


def _isolate_segment(segment: str) -> str:
    """One HTML text node with its left-to-right runs wrapped in `<span dir="ltr">`."""
    if not _MAYBE_REORDERED.search(segment):  # (entities for these characters hold digits)
        return segment
    text = html_lib.unescape(segment)
    runs = ltr_runs(text)
    if not runs:
        return segment
    out: list[str] = []
    previous = 0
    for start, end in runs:
        out += [escape(text[previous:start]), '<span dir="ltr">', escape(text[start:end])]
        out.append("</span>")
        previous = end
    out.append(escape(text[previous:]))
    return "".join(out)


def isolate_html(markup: str) -> Markup:
    """HTML with the left-to-right runs of its text isolated (idempotent).

    Only text between tags changes, and it is escaped again, so markup stays as safe as it was;
    text inside an element with dir="ltr" is left alone (already isolated).
    """
    markup = str(markup)  # plain str: slicing a Markup escapes and copies at every step
    out: list[str] = []
    # Open elements: (tag, whether its text is skipped: hidden, or inside dir="ltr").
    stack: list[tuple[str, bool]] = []
    previous = 0
    for match in _TAG.finditer(markup):
        segment = markup[previous : match.start()]
        out.append(segment if stack and stack[-1][1] else _isolate_segment(segment))
        tag = match.group()
        out.append(tag)
        previous = match.end()
        name = _NAME.match(tag)
        if name is None:
            continue  # comment or declaration
        lowered = name.group(1).lower()
        if tag.startswith("</"):
            if any(open_tag == lowered for open_tag, _ in stack):
                while stack and stack.pop()[0] != lowered:
                    pass
        elif lowered not in VOID_ELEMENTS and not tag.endswith("/>"):
            found = _DIR.search(tag)
            value = next((v for v in found.groups() if v is not None), "") if found else ""
            skipped = bool(stack) and stack[-1][1]
            if lowered in _HIDDEN or value.lower() == "ltr":
                skipped = True
            elif value.lower() == "rtl" and not any(t in _HIDDEN for t, _ in stack):
                skipped = False
            stack.append((lowered, skipped))
    tail = markup[previous:]
    out.append(tail if stack and stack[-1][1] else _isolate_segment(tail))
    return Markup("".join(out))


def needs_isolate(value: str) -> bool:
    """Whether communicator text must be isolated as a whole inside right-to-left text.

    Left-to-right text whose first or last character is punctuation or a sign ("Mälaren.",
    "+46 ..."), or that would be reordered (`_reorderable`); right-to-left text is not: the
    numbers inside it are isolated by the pass like any others.
    """
    if not value or direction(value) == "rtl":
        return False
    return not _core(value[0]) or not _core(value[-1]) or _reorderable(value)


class Isolated(str):
    """Communicator text inserted into right-to-left output, isolated as a whole.

    As plain text it is the text between LRI/RLI and PDI; as HTML, the escaped text in a span
    with its direction. The direction is the text's own (its first strong letter).
    """

    value: str
    text_direction: str

    def __new__(cls, value: str) -> Isolated:
        """Wrap `value` in isolates of its own direction."""
        text_direction = direction(value)
        opener = LRI if text_direction == "ltr" else RLI
        made = super().__new__(cls, f"{opener}{value}{PDI}")
        made.value, made.text_direction = value, text_direction
        return made

    def __html__(self) -> str:
        return str(Markup('<span dir="%s">%s</span>') % (self.text_direction, self.value))
