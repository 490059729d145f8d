"""Keeping the register: CSV import (dry run first) and export, and the GDPR export and erasure.

Matching on import: a row with an `external_id` updates the register row with that id. A row
without one matches a register row that also has none and the same name, phone and e-mail, so
re-importing the same file (or an export) changes nothing; a changed phone or e-mail on such a
row makes a new entry, which the report warns about. Contact details alone never merge two
rows, because a family or a care home may share one phone. Import never deletes anyone.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import phonenumbers
import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.delivery.models import Delivery
from service.notices.models import NoticeRecord
from service.recipients.csv_import import COLUMNS, FORMULA_STARTS, CsvResult, RecipientRow, RowError
from service.recipients.models import RecipientRecord

# The register fields an import sets, in the order changes are reported.
FIELDS = (
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


class RecipientNotFound(LookupError):
    """No recipient has this id."""


@dataclass
class ImportReport:
    """What an import did, or (dry run, refused) would do; lines refer to the file."""

    confirmed: bool
    created: list[int] = field(default_factory=list)
    updated: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)  # line, fields
    unchanged: list[int] = field(default_factory=list)
    without_external_id: int = 0
    not_in_file: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def written(self) -> bool:
        """Whether the register was changed (confirmed and no bad rows)."""
        return self.confirmed and not self.errors

    def lines(self) -> list[str]:
        """The report as text for people; field names only, never the values."""
        verb = "" if self.written else "would be "
        out = [
            f"{len(self.created)} {verb}created, {len(self.updated)} {verb}updated, "
            f"{len(self.unchanged)} unchanged"
        ]
        out += [f"line {line}: update {', '.join(names)}" for line, names in self.updated]
        if self.without_external_id:
            out.append(
                f"{self.without_external_id} rows have no external_id: they match only a row "
                "with the same name, phone and e-mail, so a changed number makes a new entry"
            )
        if self.not_in_file:
            out.append(f"{self.not_in_file} recipients in the register are not in this file")
        if self.errors:
            out.append(f"{len(self.errors)} bad rows; nothing was imported:")
            out += [f"  {error}" for error in self.errors]
        elif not self.confirmed:
            out.append("dry run: nothing was imported; confirm to import")
        return out


def _values(row: RecipientRow) -> dict[str, Any]:
    r = row.recipient
    return {
        "name": r.name,
        "phone": r.phone,
        "email": r.email,
        "languages": list(r.languages),
        "audiences": list(r.audiences),
        "areas": list(row.areas),
        "groups": list(r.groups),
        "legal_basis": row.legal_basis,
        "active": row.active,
    }


def _identity(name: str, phone: str | None, email: str | None) -> tuple[str, str, str]:
    return (name, phone or "", (email or "").lower())


def import_recipients(
    session: Session, result: CsvResult, *, confirm: bool, actor: str
) -> ImportReport:
    """Upsert the file's rows in the session's transaction; nothing while any row is bad."""
    report = ImportReport(confirmed=confirm, errors=list(result.errors))
    existing = list(session.scalars(sa.select(RecipientRecord)))
    by_external = {r.external_id: r for r in existing if r.external_id}
    by_identity = {_identity(r.name, r.phone, r.email): r for r in existing if not r.external_id}
    matched: set[int] = set()
    seen: dict[tuple[str, str, str], int] = {}  # identity -> line, for rows without an id
    changes: list[tuple[RecipientRecord | None, RecipientRow, dict[str, Any]]] = []
    for row in result.rows:
        values = _values(row)
        external_id = row.recipient.external_id
        if external_id:
            target = by_external.get(external_id)
        else:
            report.without_external_id += 1
            identity = _identity(row.recipient.name, values["phone"], values["email"])
            if identity in seen:
                message = f"same name, phone and e-mail as line {seen[identity]}"
                report.errors.append(RowError(row.line, message))
                continue
            seen[identity] = row.line
            target = by_identity.get(identity)
        if target is None:
            report.created.append(row.line)
            changes.append((None, row, values))
            continue
        matched.add(target.id)
        changed = tuple(name for name in FIELDS if getattr(target, name) != values[name])
        if changed:
            report.updated.append((row.line, changed))
            changes.append((target, row, values))
        else:
            report.unchanged.append(row.line)
    report.not_in_file = len(existing) - len(matched)
    report.errors.sort(key=lambda error: error.line)
    if not report.written:
        return report
    for target, row, values in changes:
        if target is None:
            session.add(RecipientRecord(external_id=row.recipient.external_id or None, **values))
        else:
            for name, value in values.items():
                setattr(target, name, value)
    record(
        session,
        actor=actor,
        action="recipients.imported",
        subject_type="recipients",
        subject_id="register",
        details={
            "created": len(report.created),
            "updated": len(report.updated),
            "unchanged": len(report.unchanged),
            "without_external_id": report.without_external_id,
        },
    )
    session.flush()
    return report


def _cell(value: str) -> str:
    # Excel runs a cell starting with = + - @ as a formula; import strips this apostrophe.
    return f"'{value}" if value.startswith(FORMULA_STARTS) else value


def _phone_for_excel(phone: str | None) -> str:
    # "070-123 45 67" / "00 44 20 ..." as a Swede dials it: Excel keeps it as text (an E.164
    # "+46..." turns into a number or a formula), and import reads it back to E.164.
    if not phone:
        return ""
    return phonenumbers.format_out_of_country_calling_number(phonenumbers.parse(phone), "SE")


def export_recipients(session: Session, *, actor: str | None = None) -> bytes:
    """The whole register as CSV for Swedish Excel (UTF-8 with BOM, `;`); import reads it back."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(COLUMNS)
    count = 0
    query = sa.select(RecipientRecord).order_by(RecipientRecord.id)
    for r in session.scalars(query.execution_options(yield_per=1000)):
        count += 1
        row = [
            r.external_id or "",
            r.name,
            _phone_for_excel(r.phone),
            r.email or "",
            *("|".join(values) for values in (r.languages, r.audiences, r.areas, r.groups)),
            r.legal_basis,
            "yes" if r.active else "no",
        ]
        writer.writerow([_cell(value) for value in row])
    if actor is not None:
        record(
            session,
            actor=actor,
            action="recipients.exported",
            subject_type="recipients",
            subject_id="register",
            details={"recipients": count},
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def _iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    # SQLite hands back naive datetimes; every stored time is UTC.
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def _get(session: Session, recipient_id: int) -> RecipientRecord:
    row = session.get(RecipientRecord, recipient_id)
    if row is None:
        raise RecipientNotFound(f"no recipient has id {recipient_id}")
    return row


def export_person(
    session: Session, recipient_id: int, *, actor: str | None = None
) -> dict[str, Any]:
    """Everything the service holds about one person (GDPR access): the row and deliveries."""
    row = _get(session, recipient_id)
    query = (
        sa.select(Delivery, NoticeRecord.code, NoticeRecord.scenario, NoticeRecord.mode)
        .join(NoticeRecord, NoticeRecord.id == Delivery.notice_id)
        .where(Delivery.recipient_id == recipient_id)
        .order_by(Delivery.created_at, Delivery.id)
    )
    deliveries = [
        {
            "notice_code": code,
            "scenario": scenario,
            "mode": mode,
            "channel": d.channel,
            "address": d.address,
            "language": d.language,
            "register": d.register,
            "audience": d.audience,
            "status": d.status,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "created_at": _iso(d.created_at),
            "sent_at": _iso(d.sent_at),
            "updated_at": _iso(d.updated_at),
        }
        for d, code, scenario, mode in session.execute(query)
    ]
    if actor is not None:
        record(
            session,
            actor=actor,
            action="recipient.exported",
            subject_type="recipient",
            subject_id=recipient_id,
        )
    return {
        "recipient": {
            "id": row.id,
            "external_id": row.external_id,
            **{name: getattr(row, name) for name in FIELDS},
            "created_at": _iso(row.created_at),
            "updated_at": _iso(row.updated_at),
        },
        "deliveries": deliveries,
        "exported_at": _iso(utcnow()),
    }


def forget_person(session: Session, recipient_id: int, *, actor: str) -> int:
    """Delete a person (GDPR erasure); their deliveries stay, pseudonymous. Returns how many."""
    row = _get(session, recipient_id)
    # Clear the address and the link here rather than trusting the FK's SET NULL alone: an
    # SQLite connection without PRAGMA foreign_keys would otherwise keep a dangling id.
    result = session.execute(
        sa.update(Delivery)
        .where(Delivery.recipient_id == recipient_id)
        .values(address=None, recipient_id=None)
        .execution_options(synchronize_session=False)
    )
    kept = cast("CursorResult[Any]", result).rowcount
    session.delete(row)
    record(
        session,
        actor=actor,
        action="recipient.forgotten",
        subject_type="recipient",
        subject_id=recipient_id,
        details={"deliveries_kept_pseudonymous": kept},
    )
    session.flush()
    return int(kept)
