"""Importing a CAP alert: refuse hostile or invalid XML, map it to a draft notice, store it.

A message is identified by (sender, identifier): posting the same message again returns the
earlier import; the same identifier with other content is refused, since CAP identifiers name
one message for ever. An Update or Cancel is linked to what it references: a notice published
here (our own alerts carry its code in their identifier) or an earlier import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record as audit
from service.config import Settings
from service.content import ContentLibrary
from service.interop.capmodel import CapAlert
from service.interop.external import external_notice
from service.interop.identity import code_of
from service.interop.mapping import MappedNotice, ResolvedReferences, importable
from service.interop.models import CapImport
from service.interop.own import own_notice, own_scenario
from service.interop.validation import CapInvalid, check_cap
from service.notices.publish import find_public, reference_lookup
from service.notices.service import NoticeInvalid, validate_notice

MATCH_REASON_MAX = 500


class CapConflict(ValueError):
    """The sender already used this identifier for a different message."""


@dataclass(frozen=True)
class CapImportResult:
    """An import (stored, or what would be stored in a dry run) and whether it is a repeat."""

    record: CapImport
    repeat: bool
    stored: bool

    @property
    def notice(self) -> dict[str, Any]:
        """The draft notice JSON."""
        return self.record.notice


def find_import(session: Session, sender: str, identifier: str) -> CapImport | None:
    """The earlier import of this sender's message, if any."""
    return session.scalar(
        sa.select(CapImport).where(CapImport.sender == sender, CapImport.identifier == identifier)
    )


def resolve_references(session: Session, alert: CapAlert, settings: Settings) -> ResolvedReferences:
    """The notice or import an Update or Cancel follows: the oldest referenced one known here."""
    triples = alert.reference_triples()
    for ref in triples:
        code = code_of(settings, ref.sender, ref.identifier)
        if code is not None and find_public(session, code) is not None:
            return ResolvedReferences(code=code)
        earlier = find_import(session, ref.sender, ref.identifier)
        if earlier is not None:
            notes: tuple[str, ...] = ()
            if earlier.notice_code is None:
                notes = (
                    f"it follows import #{earlier.id}, which has not been published yet: "
                    "publish that first, then this one with its code as `references`",
                )
            return ResolvedReferences(earlier.notice_code, earlier.id, dict(earlier.notice), notes)
    if triples:
        named = ", ".join(f"{r.sender} {r.identifier}" for r in triples)
        return ResolvedReferences(notes=(f"no message it references is known here ({named})",))
    return ResolvedReferences()


def map_alert(
    alert: CapAlert, library: ContentLibrary, resolved: ResolvedReferences
) -> MappedNotice:
    """The draft notice of a valid, public CAP alert (CapNotImportable otherwise)."""
    importable(alert)
    scenario = own_scenario(alert, library)
    if scenario is not None:
        return own_notice(alert, scenario, library, resolved)
    return external_notice(alert, library, resolved)


def draft_problems(notice: dict[str, Any], library: ContentLibrary, session: Session) -> list[str]:
    """What is wrong with the draft notice, as validation says it (empty: ready to review)."""
    try:
        validate_notice(notice, library, references=reference_lookup(session))
    except NoticeInvalid as exc:
        return [str(p) for p in exc.problems]
    return []


def _own_notice_note(session: Session, alert: CapAlert, settings: Settings) -> list[str]:
    code = code_of(settings, alert.sender, alert.identifier)
    if code is not None and find_public(session, code) is not None:
        return [f"this is Klarvarsel's own notice {code}, published here"]
    return []


def import_cap(
    session: Session,
    data: bytes,
    library: ContentLibrary,
    settings: Settings,
    *,
    actor: str,
    source: str,
    dry_run: bool = False,
) -> CapImportResult:
    """Import one CAP message as a draft notice (a dry run maps and checks, storing nothing).

    UnsafeXml, CapInvalid, CapConflict or CapNotImportable say why a message is refused.
    """
    check = check_cap(data)
    if check.alert is None or not check.valid:
        raise CapInvalid(check.problems)
    alert = check.alert
    digest = hashlib.sha256(data).hexdigest()
    earlier = find_import(session, alert.sender, alert.identifier)
    if earlier is not None:
        if earlier.xml_sha256 != digest:
            raise CapConflict(
                f"{alert.sender} already sent a different message with the identifier "
                f"{alert.identifier} (import #{earlier.id}); CAP identifiers name one message"
            )
        return CapImportResult(earlier, repeat=True, stored=True)
    resolved = resolve_references(session, alert, settings)
    mapped = map_alert(alert, library, resolved)
    record = CapImport(
        sender=alert.sender,
        identifier=alert.identifier,
        sent=datetime.fromisoformat(alert.sent),
        status=alert.status,
        msg_type=alert.msg_type,
        scenario=mapped.scenario,
        match_reason=mapped.reason[:MATCH_REASON_MAX],
        notice=mapped.notice,
        problems=draft_problems(mapped.notice, library, session),
        notes=mapped.notes + _own_notice_note(session, alert, settings),
        references_code=resolved.code,
        references_import_id=resolved.import_id,
        original_xml=data,
        xml_sha256=digest,
        created_by=actor,
    )
    if dry_run:
        return CapImportResult(record, repeat=False, stored=False)
    session.add(record)
    session.flush()
    audit(
        session,
        actor=actor,
        action="cap.imported",
        subject_type="cap_import",
        subject_id=record.id,
        source=source,
        details={
            "sender": alert.sender,
            "identifier": alert.identifier,
            "scenario": mapped.scenario,
            "problems": len(record.problems),
        },
    )
    return CapImportResult(record, repeat=False, stored=True)
