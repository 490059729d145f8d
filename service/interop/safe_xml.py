"""Parsing XML from outside (a posted CAP message) without trusting it.

defusedxml refuses DTDs, so entity expansion (billion laughs) and external entities (a
`file:///etc/passwd` or a URL) never run; the size, nesting depth and number of elements are
bounded before anything else reads the tree. CAP itself needs none of these: it has no DTD, is
five elements deep and a few kilobytes long.
"""

from __future__ import annotations

import io
import re
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DTDForbidden, EntitiesForbidden, ExternalReferenceForbidden
from defusedxml.ElementTree import iterparse as safe_iterparse

MAX_CAP_BYTES = 1024 * 1024
MAX_DEPTH = 16
MAX_ELEMENTS = 20_000


class UnsafeXml(ValueError):
    """The document is refused before it is read: hostile, too large or not XML at all."""


DOCTYPE = re.compile(rb"<!DOCTYPE\s[^\[>]*(\[.*?\]\s*)?>", re.DOTALL)


def _dtd_reason(data: bytes) -> str:
    """Say which danger a refused DTD carried (the refusal itself is defusedxml's)."""
    found = DOCTYPE.search(data[:MAX_CAP_BYTES])
    head = found.group(0) if found else b""
    if b"<!ENTITY" in head and (b"SYSTEM" in head or b"PUBLIC" in head):
        return (
            "declares an external entity (<!ENTITY ... SYSTEM>): reading files or addresses "
            "named in a document is refused"
        )
    if b"<!ENTITY" in head:
        return (
            "declares entities (<!ENTITY>): entity expansion (the 'billion laughs' attack) is "
            "refused"
        )
    if b"SYSTEM" in head or b"PUBLIC" in head:
        return "refers to an external DTD (SYSTEM or PUBLIC): loading it is refused"
    return "contains a DTD (<!DOCTYPE>), which CAP never uses"


def parse_untrusted(data: bytes) -> Element:
    """The root element of `data`, or UnsafeXml saying exactly why it is refused."""
    if len(data) > MAX_CAP_BYTES:
        raise UnsafeXml(
            f"the document is {len(data):,} bytes; at most {MAX_CAP_BYTES:,} (1 MiB) are accepted"
        )
    if not data.strip():
        raise UnsafeXml("the document is empty")
    depth = elements = 0
    root: Element | None = None
    try:
        for event, element in safe_iterparse(
            io.BytesIO(data),
            events=("start", "end"),
            forbid_dtd=True,
            forbid_entities=True,
            forbid_external=True,
        ):
            if event == "end":
                depth -= 1
                continue
            root = element if root is None else root
            depth += 1
            elements += 1
            if depth > MAX_DEPTH:
                raise UnsafeXml(
                    f"elements are nested more than {MAX_DEPTH} deep (at <{_local(element)}>); "
                    "CAP needs five"
                )
            if elements > MAX_ELEMENTS:
                raise UnsafeXml(f"the document has more than {MAX_ELEMENTS:,} elements")
    except DTDForbidden:
        raise UnsafeXml(f"the document {_dtd_reason(data)}") from None
    except (EntitiesForbidden, ExternalReferenceForbidden):
        raise UnsafeXml("the document declares entities, which are refused") from None
    except ParseError as exc:
        line, column = exc.position
        raise UnsafeXml(
            f"not well-formed XML at line {line}, column {column + 1}: {_reason(exc)}"
        ) from None
    if root is None:  # pragma: no cover - iterparse raises on a document without elements
        raise UnsafeXml("the document has no elements")
    return root


def _local(element: Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _reason(exc: ParseError) -> str:
    return str(exc).split(":", 1)[0]
