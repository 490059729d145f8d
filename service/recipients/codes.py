"""The register's lists as plain delimited text, so planning reads and filters them cheaply.

`languages`, `audiences`, `areas` and `groups` are JSON arrays (the source of truth, as entered).
Each has a text twin (`language_codes`, ...) holding the same items between unit separators
(U+001F, a control character no validated value may contain), as in `US sv US en US`. Planning
selects the twins as plain strings (a `split`, no JSON decoding per row) and filters on them in
SQL. The twins are written with the row: a column default that reads the row's own lists (so
Core bulk inserts fill them too) and an ORM hook on every insert and update (CSV import, API and
web edits). Forgetting a person deletes the row and its twins with it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SEPARATOR = "\x1f"
# JSON list column -> its text twin.
TWINS = {
    "languages": "language_codes",
    "audiences": "audience_codes",
    "areas": "area_codes",
    "groups": "group_codes",
}


def join_codes(items: Iterable[Any] | None) -> str:
    """A list as its twin's text; an empty list is the empty string."""
    values = [str(item) for item in items or ()]
    return f"{SEPARATOR}{SEPARATOR.join(values)}{SEPARATOR}" if values else ""


def split_codes(text: str | None) -> tuple[str, ...]:
    """The items of a twin's text, in order."""
    return tuple(text.split(SEPARATOR)[1:-1]) if text else ()


def twin_default(source: str) -> Any:
    """A column default computing the twin from the row's own list (Core and ORM inserts)."""

    def default(context: Any) -> str:
        return join_codes(context.get_current_parameters().get(source))

    return default
