"""One recipient at a time (the REST API): validated as an import row is, audited, never logged.

Every problem is reported at once with its field path (`phone`, `languages.1`). Contact details
never reach the audit log: it records who changed which fields of which recipient.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from service.audit.service import record
from service.content import ContentLibrary
from service.notices.service import NoticeInvalid, NoticeProblem
from service.notices.text_safety import unsafe_characters
from service.recipients.csv_import import EMAIL_RE, normalise_phone
from service.recipients.models import RecipientRecord
from service.recipients.register import FIELDS, RecipientNotFound

Item = Field(min_length=1, max_length=64)


class RecipientIn(BaseModel):
    """A person or function in the register, as the API takes it."""

    model_config = ConfigDict(extra="forbid")

    external_id: str | None = Field(None, min_length=1, max_length=100, examples=["hr-4711"])
    name: str = Field(min_length=1, max_length=200, examples=["Anna Andersson"])
    phone: str | None = Field(None, max_length=40, examples=["070-123 45 67"])
    email: str | None = Field(None, max_length=254, examples=["anna@example.se"])
    languages: list[str] = Field(["sv"], min_length=1, max_length=20, examples=[["sv", "fi"]])
    audiences: list[str] = Field(["general-public"], min_length=1, max_length=20)
    areas: list[str] = Field(default_factory=list, max_length=50, examples=[["skultuna"]])
    groups: list[str] = Field(default_factory=list, max_length=20)
    legal_basis: str = Field("", max_length=500, examples=["samtycke 2026-05-02"])
    active: bool = True


RECIPIENT_EXAMPLE = {
    "external_id": "hr-4711",
    "name": "Anna Andersson",
    "phone": "070-123 45 67",
    "email": "anna@example.se",
    "languages": ["sv"],
    "audiences": ["general-public"],
    "areas": ["skultuna"],
    "groups": [],
    "legal_basis": "samtycke 2026-05-02",
    "active": True,
}


def _known(
    values: list[str], known: Any, field: str, what: str, problems: list[NoticeProblem]
) -> None:
    for index, value in enumerate(values):
        if value not in known:
            problems.append(NoticeProblem(f"{field}.{index}", f"unknown {what} {value!r}"))


def checked(session: Session, data: RecipientIn, library: ContentLibrary) -> dict[str, Any]:
    """The register's values for `data` (phone in E.164), or NoticeInvalid with every problem."""
    problems: list[NoticeProblem] = []
    for name, value in data.model_dump().items():
        texts = value if isinstance(value, list) else [value] if isinstance(value, str) else []
        for text in texts:
            for why in unsafe_characters(text, free_text=name == "legal_basis"):
                problems.append(NoticeProblem(name, why))
    name = data.name.strip()
    if not name:
        problems.append(NoticeProblem("name", "is empty"))
    phone = None
    if data.phone and data.phone.strip():
        try:
            phone = normalise_phone(data.phone.strip())
        except ValueError as exc:
            problems.append(NoticeProblem("phone", str(exc)))
    email = (data.email or "").strip() or None
    if email and not EMAIL_RE.match(email):
        problems.append(NoticeProblem("email", "is not an e-mail address"))
    if not (data.phone or "").strip() and not email:
        problems.append(NoticeProblem("", "give a phone number or an e-mail address"))
    _known(data.languages, library.languages, "languages", "language", problems)
    _known(data.audiences, library.audiences, "audiences", "audience", problems)
    _known(data.areas, library.areas.areas, "areas", "area", problems)
    if data.external_id:
        taken = session.scalar(
            sa.select(RecipientRecord.id).where(RecipientRecord.external_id == data.external_id)
        )
        if taken is not None:
            problems.append(NoticeProblem("external_id", f"is used by recipient {taken}"))
    if problems:
        raise NoticeInvalid(problems)
    return {
        "external_id": data.external_id,
        "name": name,
        "phone": phone,
        "email": email,
        "languages": list(dict.fromkeys(data.languages)),
        "audiences": list(dict.fromkeys(data.audiences)),
        "areas": list(dict.fromkeys(data.areas)),
        "groups": list(dict.fromkeys(g.strip() for g in data.groups if g.strip())),
        "legal_basis": data.legal_basis.strip(),
        "active": data.active,
    }


def get_recipient(session: Session, recipient_id: int) -> RecipientRecord:
    """The recipient with this id (RecipientNotFound)."""
    row = session.get(RecipientRecord, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no recipient has id {recipient_id}")
    return row


def create_recipient(
    session: Session, data: RecipientIn, library: ContentLibrary, *, actor: str, source: str
) -> RecipientRecord:
    """Add one recipient (audited without contact details)."""
    row = RecipientRecord(**checked(session, data, library))
    session.add(row)
    session.flush()
    record(
        session,
        actor=actor,
        action="recipient.created",
        subject_type="recipient",
        subject_id=row.id,
        source=source,
    )
    return row


def update_recipient(
    session: Session,
    row: RecipientRecord,
    data: RecipientIn,
    library: ContentLibrary,
    *,
    actor: str,
    source: str,
) -> RecipientRecord:
    """Replace one recipient's details; the audit log names the fields that changed."""
    if data.external_id == row.external_id:
        data = data.model_copy(update={"external_id": None})  # not a clash with itself
        values = {**checked(session, data, library), "external_id": row.external_id}
    else:
        values = checked(session, data, library)
    changed = [n for n in ("external_id", *FIELDS) if getattr(row, n) != values[n]]
    for name, value in values.items():
        setattr(row, name, value)
    session.flush()
    record(
        session,
        actor=actor,
        action="recipient.updated",
        subject_type="recipient",
        subject_id=row.id,
        source=source,
        details={"fields": changed},
    )
    return row


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes; every stored time is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def recipient_dict(row: RecipientRecord) -> dict[str, Any]:
    """The API's view of a register row."""
    return {
        "id": row.id,
        "external_id": row.external_id,
        **{name: getattr(row, name) for name in FIELDS},
        "created_at": _utc(row.created_at),
        "updated_at": _utc(row.updated_at),
    }
