"""Checking a CAP 1.2 message: the OASIS schema, then the rules the schema cannot express.

The XSD accepts identifiers with spaces or commas, `references` that are not
`sender,identifier,sent` triples, polygons that do not close, and an <info> in Arabic that holds
the Swedish text. Each of these breaks a receiving system or misleads a reader, so they are
checked here, and every problem is reported at once with its place.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from xml.etree.ElementTree import Element

import xmlschema

from service.interop.capmodel import (
    CAP_DATETIME,
    CAP_NS,
    CapAlert,
    CapArea,
    parse_cap_datetime,
    read_alert,
)
from service.interop.safe_xml import parse_untrusted

SCHEMA_PATH = Path(__file__).resolve().parent / "cap-v1.2.xsd"
# CAP 1.2 section 3.2.1: identifier and sender "MUST NOT include spaces, commas or restricted
# characters (< and &)". Control characters cannot be meant either.
IDENTIFIER = re.compile(r"^[^\s,<&\x00-\x1f\x7f]+$")
MAX_IDENTIFIER_LENGTH = 255
# A line this long that appears word for word in two languages was not translated. Shorter
# lines (an address, a phone number, a place name) legitimately repeat.
MIN_REPEATED_WORDS = 6
TIMES = ("sent", "effective", "onset", "expires")


@dataclass(frozen=True)
class CapProblem:
    """One thing wrong with a CAP message: where (a path such as /alert/info[2]) and what."""

    location: str
    message: str

    def __str__(self) -> str:
        return f"{self.location}: {self.message}"


class CapInvalid(ValueError):
    """A CAP message that fails the schema or the extra checks; `problems` lists them all."""

    def __init__(self, problems: Sequence[CapProblem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


@dataclass(frozen=True)
class CapCheck:
    """The result of checking one message: the alert as read, and every problem."""

    alert: CapAlert | None
    problems: list[CapProblem]

    @property
    def valid(self) -> bool:
        """No problem at all."""
        return not self.problems


@lru_cache
def cap_schema() -> xmlschema.XMLSchema:
    """The OASIS CAP 1.2 schema (a copy of tests/data/standards/cap-v1.2.xsd), loaded once."""
    return xmlschema.XMLSchema(str(SCHEMA_PATH))


def _plain(text: str) -> str:
    return text.replace(f"{{{CAP_NS}}}", "")


def schema_problems(root: Element) -> list[CapProblem]:
    """Every way the document breaks the CAP 1.2 XSD (element order, values, times)."""
    if root.tag != f"{{{CAP_NS}}}alert":
        return [
            CapProblem(
                "/",
                f"the root element is <{root.tag}>; a CAP 1.2 message is an <alert> in the "
                f"namespace {CAP_NS}",
            )
        ]
    problems = []
    for error in cap_schema().iter_errors(root):
        location = _plain(error.path or "/alert")
        reason = _plain(error.reason or error.message)
        if location.rsplit("/", 1)[-1].split("[")[0] in TIMES and "pattern" in reason:
            value = getattr(error.obj, "text", error.obj)
            reason = (
                f"is {value!r}; CAP times are written like 2026-11-23T08:00:00+01:00 (with an "
                "offset, without Z or fractions of a second)"
            )
        problems.append(CapProblem(location, reason))
    return problems


def _identifier_problems(location: str, value: str, what: str) -> list[CapProblem]:
    if not IDENTIFIER.match(value):
        return [
            CapProblem(
                location,
                f"{what} {value!r} contains a space, comma, '<', '&' or control character, "
                "which CAP does not allow",
            )
        ]
    if len(value) > MAX_IDENTIFIER_LENGTH:
        return [CapProblem(location, f"{what} is longer than {MAX_IDENTIFIER_LENGTH} characters")]
    return []


def _reference_problems(alert: CapAlert) -> list[CapProblem]:
    problems = []
    if alert.msg_type in ("Update", "Cancel") and not alert.references:
        problems.append(
            CapProblem(
                "/alert/references",
                f"a {alert.msg_type} must name the messages it follows as sender,identifier,sent",
            )
        )
    for number, item in enumerate((alert.references or "").split(), start=1):
        where = f"/alert/references (item {number})"
        parts = item.split(",")
        if len(parts) != 3:
            problems.append(CapProblem(where, f"{item!r} is not one sender,identifier,sent triple"))
            continue
        sender, identifier, sent = parts
        problems += _identifier_problems(where, sender, "sender")
        problems += _identifier_problems(where, identifier, "identifier")
        if not CAP_DATETIME.match(sent):
            problems.append(
                CapProblem(where, f"sent {sent!r} is not a CAP time like 2026-11-23T08:00:00+01:00")
            )
        if (sender, identifier) == (alert.sender, alert.identifier):
            problems.append(CapProblem(where, "the message references itself"))
    return problems


def _coordinates(text: str) -> tuple[float, float] | None:
    try:
        lat_text, lon_text = text.split(",")
        lat, lon = float(lat_text), float(lon_text)
    except ValueError:
        return None
    return (lat, lon) if -90 <= lat <= 90 and -180 <= lon <= 180 else None


def _area_problems(where: str, area: CapArea) -> list[CapProblem]:
    problems = []
    for number, polygon in enumerate(area.polygons, start=1):
        place = f"{where}/polygon[{number}]"
        pairs = polygon.split()
        points = [_coordinates(p) for p in pairs]
        if any(p is None for p in points):
            problems.append(
                CapProblem(place, "every point must be latitude,longitude in WGS 84 degrees")
            )
        elif len(points) < 4:
            problems.append(CapProblem(place, f"has {len(points)} points; at least 4 are needed"))
        elif points[0] != points[-1]:
            problems.append(CapProblem(place, "is not closed: the last point must be the first"))
    for number, circle in enumerate(area.circles, start=1):
        parts = circle.split()
        radius_ok = len(parts) == 2 and re.fullmatch(r"\d+(\.\d+)?", parts[1]) is not None
        if not radius_ok or _coordinates(parts[0]) is None:
            problems.append(
                CapProblem(f"{where}/circle[{number}]", "must be 'latitude,longitude radius-in-km'")
            )
    for number, (name, _value) in enumerate(area.geocodes, start=1):
        if not name:
            problems.append(CapProblem(f"{where}/geocode[{number}]", "valueName is empty"))
    return problems


def _lines(texts: Sequence[str | None]) -> list[str]:
    lines = []
    for text in texts:
        for line in (text or "").splitlines():
            words = line.strip().lstrip("-•* ").split()
            if len(words) >= MIN_REPEATED_WORDS:
                lines.append(" ".join(words).casefold())
    return lines


def repeated_text(
    infos: Sequence[tuple[str, Sequence[str | None]]],
) -> list[tuple[int, int, str]]:
    """(earlier info, later info, line) for each text found word for word in two languages.

    Languages that share a primary subtag (fa and fa-AF) may share sentences; they are not
    compared.
    """
    seen: dict[str, tuple[int, str]] = {}
    found = []
    for index, (language, texts) in enumerate(infos):
        primary = language.split("-")[0].casefold()
        for line in _lines(texts):
            earlier = seen.get(line)
            if earlier is None:
                seen[line] = (index, primary)
            elif earlier[1] != primary:
                found.append((earlier[0], index, line))
    return found


def _info_problems(alert: CapAlert) -> list[CapProblem]:
    problems = []
    sent = None
    if CAP_DATETIME.match(alert.sent):
        sent = parse_cap_datetime(alert.sent)
    for number, info in enumerate(alert.infos, start=1):
        where = f"/alert/info[{number}]"
        expires = info.expires or ""
        if sent and CAP_DATETIME.match(expires) and parse_cap_datetime(expires) <= sent:
            problems.append(
                CapProblem(f"{where}/expires", "is not after the time the alert was sent")
            )
        for kind, pairs in (("eventCode", info.event_codes), ("parameter", info.parameters)):
            for index, (name, _value) in enumerate(pairs, start=1):
                if not name:
                    problems.append(CapProblem(f"{where}/{kind}[{index}]", "valueName is empty"))
        for index, area in enumerate(info.areas, start=1):
            problems += _area_problems(f"{where}/area[{index}]", area)
    texts = [(i.language, (i.headline, i.description, i.instruction)) for i in alert.infos]
    for earlier, later, line in repeated_text(texts):
        first, second = alert.infos[earlier], alert.infos[later]
        problems.append(
            CapProblem(
                f"/alert/info[{later + 1}]",
                f"the {second.language} text repeats the {first.language} text word for word "
                f"({line[:60]!r}...): it was not translated",
            )
        )
    return problems


def rule_problems(alert: CapAlert) -> list[CapProblem]:
    """What the XSD misses: identifiers, references, scope, times, areas, untranslated text."""
    problems = _identifier_problems("/alert/identifier", alert.identifier, "identifier")
    problems += _identifier_problems("/alert/sender", alert.sender, "sender")
    problems += _reference_problems(alert)
    if alert.scope == "Restricted" and not alert.restriction:
        problems.append(CapProblem("/alert/restriction", "is required when scope is Restricted"))
    if alert.scope == "Private" and not alert.addresses:
        problems.append(CapProblem("/alert/addresses", "is required when scope is Private"))
    return problems + _info_problems(alert)


def check_root(root: Element) -> CapCheck:
    """Check a parsed document: schema first, then the extra rules."""
    problems = schema_problems(root)
    if root.tag != f"{{{CAP_NS}}}alert":
        return CapCheck(None, problems)
    alert = read_alert(root)
    return CapCheck(alert, problems + rule_problems(alert))


def check_cap(data: bytes) -> CapCheck:
    """Parse untrusted bytes safely (UnsafeXml if hostile) and check them."""
    return check_root(parse_untrusted(data))
