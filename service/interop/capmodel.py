"""CAP 1.2 as plain data: what an <alert> says, read from a (safely parsed) element tree.

Only what Klarvarsel uses or checks is read; the original document is kept alongside an import,
so nothing a sender wrote is lost.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from xml.etree.ElementTree import Element

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_MIME_TYPE = "application/cap+xml"
# The XSD's own pattern: no `Z`, no fractions of a second, always an offset.
CAP_DATETIME = re.compile(r"^\d\d\d\d-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d$")


def cap_datetime(value: datetime, timezone: tzinfo) -> str:
    """A time as CAP writes it: local offset, whole seconds (2026-11-23T08:00:00+01:00)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone)
    return value.astimezone(timezone).replace(microsecond=0).isoformat()


def parse_cap_datetime(text: str) -> datetime:
    """A CAP time as an aware datetime; ValueError when it is not in CAP's form."""
    if not CAP_DATETIME.match(text.strip()):
        raise ValueError(f"{text!r} is not a CAP time such as 2026-11-23T08:00:00+01:00")
    return datetime.fromisoformat(text.strip())


@dataclass(frozen=True)
class CapRef:
    """One earlier message: the `sender,identifier,sent` triple of CAP <references>."""

    sender: str
    identifier: str
    sent: str

    def __str__(self) -> str:
        return f"{self.sender},{self.identifier},{self.sent}"


@dataclass(frozen=True)
class CapArea:
    """One <area>: its description, geocodes (valueName, value), polygons and circles."""

    description: str
    geocodes: tuple[tuple[str, str], ...] = ()
    polygons: tuple[str, ...] = ()
    circles: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapInfo:
    """One <info>: the alert in one language."""

    language: str
    categories: tuple[str, ...]
    event: str
    response_types: tuple[str, ...]
    urgency: str
    severity: str
    certainty: str
    event_codes: tuple[tuple[str, str], ...] = ()
    effective: str | None = None
    onset: str | None = None
    expires: str | None = None
    sender_name: str | None = None
    headline: str | None = None
    description: str | None = None
    instruction: str | None = None
    web: str | None = None
    contact: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    areas: tuple[CapArea, ...] = ()

    def parameter(self, name: str) -> str | None:
        """The first parameter called `name`, if any."""
        return next((v for n, v in self.parameters if n == name), None)

    def parameter_values(self, name: str) -> list[str]:
        """Every parameter called `name`, in order."""
        return [v for n, v in self.parameters if n == name]

    def event_code(self, name: str) -> str | None:
        """The first eventCode called `name`, if any."""
        return next((v for n, v in self.event_codes if n == name), None)


@dataclass(frozen=True)
class CapAlert:
    """One CAP <alert>."""

    identifier: str
    sender: str
    sent: str
    status: str
    msg_type: str
    scope: str
    source: str | None = None
    restriction: str | None = None
    addresses: str | None = None
    note: str | None = None
    references: str | None = None
    incidents: str | None = None
    infos: tuple[CapInfo, ...] = field(default=())

    def reference_triples(self) -> list[CapRef]:
        """The referenced messages; a malformed triple is left out (the checks report it)."""
        triples = []
        for item in (self.references or "").split():
            parts = item.split(",")
            if len(parts) == 3:
                triples.append(CapRef(*parts))
        return triples


def _q(name: str) -> str:
    return f"{{{CAP_NS}}}{name}"


def _text(parent: Element, name: str) -> str | None:
    child = parent.find(_q(name))
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _texts(parent: Element, name: str) -> tuple[str, ...]:
    return tuple((c.text or "").strip() for c in parent.findall(_q(name)))


def _pairs(parent: Element, name: str) -> tuple[tuple[str, str], ...]:
    return tuple(
        (_text(child, "valueName") or "", _text(child, "value") or "")
        for child in parent.findall(_q(name))
    )


def _area(element: Element) -> CapArea:
    return CapArea(
        description=_text(element, "areaDesc") or "",
        geocodes=_pairs(element, "geocode"),
        polygons=_texts(element, "polygon"),
        circles=_texts(element, "circle"),
    )


def _info(element: Element) -> CapInfo:
    return CapInfo(
        language=_text(element, "language") or "en-US",  # the schema's default
        categories=_texts(element, "category"),
        event=_text(element, "event") or "",
        response_types=_texts(element, "responseType"),
        urgency=_text(element, "urgency") or "",
        severity=_text(element, "severity") or "",
        certainty=_text(element, "certainty") or "",
        event_codes=_pairs(element, "eventCode"),
        effective=_text(element, "effective"),
        onset=_text(element, "onset"),
        expires=_text(element, "expires"),
        sender_name=_text(element, "senderName"),
        headline=_text(element, "headline"),
        description=_text(element, "description"),
        instruction=_text(element, "instruction"),
        web=_text(element, "web"),
        contact=_text(element, "contact"),
        parameters=_pairs(element, "parameter"),
        areas=tuple(_area(a) for a in element.findall(_q("area"))),
    )


def read_alert(root: Element) -> CapAlert:
    """The alert an element tree holds (validate it against the schema first)."""
    return CapAlert(
        identifier=_text(root, "identifier") or "",
        sender=_text(root, "sender") or "",
        sent=_text(root, "sent") or "",
        status=_text(root, "status") or "",
        msg_type=_text(root, "msgType") or "",
        scope=_text(root, "scope") or "",
        source=_text(root, "source"),
        restriction=_text(root, "restriction"),
        addresses=_text(root, "addresses"),
        note=_text(root, "note"),
        references=_text(root, "references"),
        incidents=_text(root, "incidents"),
        infos=tuple(_info(i) for i in root.findall(_q("info"))),
    )
