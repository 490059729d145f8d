"""Finding and editing one recipient on the web, checked exactly like a row of a CSV import."""

from __future__ import annotations

from collections.abc import Iterable
from contextlib import suppress
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.recipients.areas import AreaMap
from service.recipients.csv_import import MAX_LENGTHS, _row, normalise_phone
from service.recipients.models import RecipientRecord
from service.recipients.register import FIELDS, _values

SEARCH_MAX = 100
RESULTS_MAX = 50
# The form's fields, as the CSV names its columns.
FORM_FIELDS = (
    "external_id",
    "name",
    "phone",
    "email",
    "languages",
    "audiences",
    "areas",
    "groups",
    "legal_basis",
    "active",
)


def _json_holds(column: Any, value: str) -> Any:
    # The lists are JSON arrays of codes: '"value"' in their text is that element (portable
    # between SQLite and PostgreSQL, and codes hold no quotes).
    return sa.cast(column, sa.String).like(f'%"{value}"%')


def search_recipients(
    session: Session, text: str = "", *, group: str = "", area: str = ""
) -> tuple[list[RecipientRecord], int]:
    """The first 50 recipients matching `text`, a group and an area; and how many match.

    `text` is looked for in the name, e-mail address, phone number and external id.
    """
    query = sa.select(RecipientRecord)
    text = text.strip()[:SEARCH_MAX]
    if text:
        like = f"%{text.lower()}%"
        terms: list[Any] = [
            sa.func.lower(RecipientRecord.name).like(like),
            sa.func.lower(RecipientRecord.email).like(like),
            sa.func.lower(RecipientRecord.external_id).like(like),
            RecipientRecord.phone.like(f"%{text}%"),
        ]
        with suppress(ValueError):  # not a phone number: the other terms decide
            terms.append(RecipientRecord.phone == normalise_phone(text))
        query = query.where(sa.or_(*terms))
    if group.strip():
        query = query.where(_json_holds(RecipientRecord.groups, group.strip()[:SEARCH_MAX]))
    if area.strip():
        query = query.where(_json_holds(RecipientRecord.areas, area.strip()[:SEARCH_MAX]))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(RecipientRecord.name, RecipientRecord.id).limit(50))
    return list(rows), total


def form_values(row: RecipientRecord) -> dict[str, str]:
    """The register row as the edit form shows it (lists separated by spaces)."""
    return {
        "external_id": row.external_id or "",
        "name": row.name,
        "phone": row.phone or "",
        "email": row.email or "",
        "languages": " ".join(row.languages),
        "audiences": " ".join(row.audiences),
        "areas": " ".join(row.areas),
        "groups": " ".join(row.groups),
        "legal_basis": row.legal_basis,
        "active": "yes" if row.active else "no",
    }


def update_recipient(
    session: Session,
    row: RecipientRecord,
    fields: dict[str, str],
    *,
    languages: Iterable[str],
    audiences: Iterable[str],
    areas: AreaMap,
    actor: str,
    source: str,
) -> list[str]:
    """Check the fields as an import would and save them; every problem, or [] when saved."""
    cells = {name: fields.get(name, "") for name in FORM_FIELDS}
    problems: list[str] = []
    for name, value in cells.items():
        if len(value) > MAX_LENGTHS.get(name, 200):
            problems.append(f"{name}: is longer than {MAX_LENGTHS.get(name, 200)} characters")
    if problems:
        return problems
    try:
        parsed = _row(0, cells, list(languages), list(audiences), areas)
    except ValueError as exc:
        return str(exc).split("; ")
    external_id = parsed.recipient.external_id or None
    if external_id and external_id != row.external_id:
        taken = session.scalar(
            sa.select(RecipientRecord.id).where(RecipientRecord.external_id == external_id)
        )
        if taken is not None:
            return [f"external_id {external_id!r} belongs to recipient {taken}"]
    values = _values(parsed)
    changed = [name for name in FIELDS if getattr(row, name) != values[name]]
    if external_id != row.external_id:
        changed.insert(0, "external_id")
    row.external_id = external_id
    for name in FIELDS:
        setattr(row, name, values[name])
    if changed:
        record(
            session,
            actor=actor,
            action="recipient.updated",
            subject_type="recipient",
            subject_id=row.id,
            source=source,
            details={"fields": changed},  # names only: the values are personal data
        )
    session.flush()
    return []


_PROBLEM_FIELDS = (
    ("e-mail", "email"),
    ("give a phone", "phone"),
    ("unknown language", "languages"),
    ("unknown audience", "audiences"),
    ("unknown area", "areas"),
    ("postal code", "areas"),
    *((name, name) for name in FORM_FIELDS),
)


def problem_field(problem: str) -> str:
    """The form field a problem of `update_recipient` is about (its message starts with it)."""
    lowered = problem.lower()
    return next((field for start, field in _PROBLEM_FIELDS if lowered.startswith(start)), "name")
