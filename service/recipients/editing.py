"""Finding and editing one recipient on the web (the edit goes through the API's update)."""

from __future__ import annotations

from contextlib import suppress
from typing import Any

import sqlalchemy as sa
from pydantic import ValidationError
from sqlalchemy.orm import Session

from service.content import ContentLibrary
from service.notices.service import NoticeInvalid
from service.recipients.crud import RecipientIn, checked, update_recipient
from service.recipients.csv_import import COLUMNS, LIST_SEPARATORS, normalise_phone
from service.recipients.models import RecipientRecord

SEARCH_MAX = 100
RESULTS_MAX = 50
FORM_FIELDS = COLUMNS  # the form's fields, as the CSV names its columns


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


def _items(text: str) -> list[str]:
    return [part for part in LIST_SEPARATORS.split(text.strip()) if part]


def _problems(exc: NoticeInvalid) -> list[tuple[str, str]]:
    # "give a phone number or an e-mail address" has no field of its own: it goes to phone.
    return [(p.location.split(".")[0] or "phone", str(p)) for p in exc.problems]


def save_recipient(
    session: Session,
    row: RecipientRecord,
    fields: dict[str, str],
    library: ContentLibrary,
    *,
    actor: str,
    source: str,
) -> list[tuple[str, str]]:
    """Save the edit form through the API's own update (same checks, same audit event).

    Returns every problem at once as (form field, message), or [] when saved.
    """
    name = fields.get("name", "").strip()
    try:
        data = RecipientIn(
            external_id=fields.get("external_id") or None,
            name=name or "-",  # an empty name is reported below with the other problems
            phone=fields.get("phone") or None,
            email=fields.get("email") or None,
            languages=_items(fields.get("languages", "")) or ["sv"],
            audiences=_items(fields.get("audiences", "")) or ["general-public"],
            areas=_items(fields.get("areas", "")),
            groups=_items(fields.get("groups", "")),
            legal_basis=fields.get("legal_basis", ""),
            active=fields.get("active") == "yes",
        )
    except ValidationError as exc:
        return [(str(e["loc"][0]), f"{e['loc'][0]}: {e['msg']}") for e in exc.errors()]
    if not name:
        problems = [("name", "name: is empty")]
        own = data.external_id == row.external_id  # keeping its own id is no clash
        try:
            checked(
                session, data.model_copy(update={"external_id": None}) if own else data, library
            )
        except NoticeInvalid as exc:
            problems += _problems(exc)
        return problems
    try:
        update_recipient(session, row, data, library, actor=actor, source=source)
    except NoticeInvalid as exc:
        return _problems(exc)
    return []
