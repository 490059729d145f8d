"""Storing a validated notice under a short public code, with its audit event.

The code is derived from the notice's content, so a preview shows the very link that publishing
will use (an SMS's length and segments depend on it). The same content published twice is almost
always a mistake at 3 a.m. (a double click, a re-run command), so it is refused unless the
caller asks for a new notice explicitly; a deliberate repeat then gets the next code in the
content's sequence.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.content import ContentLibrary
from service.notices.models import NoticeRecord, NoticeState
from service.notices.service import (
    Notice,
    NoticeInvalid,
    NoticeProblem,
    ReferencedNotice,
    ReferenceLookup,
    validate_notice,
)
from service.webhooks.events import emit_notice

# No 0/O, 1/I/L: codes are read aloud on the phone and typed from printed notices.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6
PLANNING_LEASE = timedelta(minutes=2)
# Keys that say when or how a notice was sent, not what it says.
_NOT_CONTENT = frozenset({"sent_at"})


class DuplicateNotice(ValueError):
    """The same content was already published; `existing` is that notice."""

    def __init__(self, existing: NoticeRecord) -> None:
        self.existing = existing
        at = existing.created_at
        at = at if at.tzinfo else at.replace(tzinfo=UTC)
        super().__init__(
            f"this notice was already published as {existing.code} at "
            f"{at.isoformat(timespec='minutes')} with the same content"
        )


def content_hash(raw: dict[str, Any]) -> str:
    """sha256 of the submitted content, independent of key order and of `sent_at`."""
    content = {k: v for k, v in raw.items() if k not in _NOT_CONTENT}
    canonical = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def derived_code(digest: str, attempt: int) -> str:
    """The `attempt`-th public code of a content hash (0 for the first publication)."""
    number = int.from_bytes(hashlib.sha256(f"{digest}:{attempt}".encode()).digest()[:8], "big")
    letters = []
    for _ in range(CODE_LENGTH):
        number, index = divmod(number, len(CODE_ALPHABET))
        letters.append(CODE_ALPHABET[index])
    return "".join(letters)


def find_by_code(session: Session, code: str) -> NoticeRecord | None:
    """The stored notice with this public code (case-insensitive)."""
    return session.scalar(sa.select(NoticeRecord).where(NoticeRecord.code == code.upper()))


def mark_planned(session: Session, notice_id: int) -> None:
    """Record that a notice's deliveries are all planned (a releaser will not plan it again)."""
    session.execute(
        sa.update(NoticeRecord)
        .where(NoticeRecord.id == notice_id)
        .values(planned_at=utcnow(), planning_lease=None)
    )


def find_public(session: Session, code: str) -> NoticeRecord | None:
    """The sent notice with this code; drafts and discarded notices have no public side."""
    found = find_by_code(session, code)
    return found if found is not None and found.public else None


def find_duplicate(
    session: Session, digest: str, *, besides: int | None = None
) -> NoticeRecord | None:
    """The earliest published notice with exactly this content, if any (other than `besides`)."""
    return session.scalar(
        sa.select(NoticeRecord)
        .where(NoticeRecord.content_hash == digest, NoticeRecord.id != (besides or -1))
        .order_by(NoticeRecord.id)
        .limit(1)
    )


def next_code(session: Session, digest: str) -> str:
    """The code publishing this content would use now: the first free one in its sequence."""
    attempt = 0
    while find_by_code(session, derived_code(digest, attempt)) is not None:
        attempt += 1
    return derived_code(digest, attempt)


def reference_lookup(session: Session) -> ReferenceLookup:
    """Looks up the notice an update, all-clear or cancel follows, for validation."""

    def lookup(code: str) -> ReferencedNotice | None:
        found = find_public(session, code)  # a follow-up follows a notice people received
        if found is None:
            return None
        first = session.get(NoticeRecord, found.references_id) if found.references_id else found
        first = first or found
        cancelled = (
            any(n.message_type == "cancel" for n in thread_of(session, first))
            or first.status == "cancelled"
        )
        return ReferencedNotice(
            first.code, first.scenario, first.mode, first.message_type, cancelled
        )

    return lookup


def thread_of(session: Session, first: NoticeRecord) -> list[NoticeRecord]:
    """The first notice and every update, all-clear and cancel that follows it, oldest first."""
    followers = session.scalars(
        sa.select(NoticeRecord)
        .where(NoticeRecord.references_id == first.id, NoticeRecord.status == NoticeState.sent)
        .order_by(NoticeRecord.created_at, NoticeRecord.id)
    ).all()
    return [first, *followers]


def load_stored_notice(record: NoticeRecord, library: ContentLibrary) -> Notice:
    """The validated notice a stored record holds, as of the time it was published.

    Older records have no `sent_at` in their payload: their publication time stands in, so a
    page viewed later never shows the time it is viewed as the time the notice was sent.
    """
    payload = dict(record.payload)
    if not payload.get("sent_at"):
        created = record.created_at
        created = created if created.tzinfo else created.replace(tzinfo=UTC)  # SQLite drops it
        payload["sent_at"] = created.isoformat()
    return validate_notice(payload, library)


def publish_notice(
    session: Session,
    notice: Notice,
    raw: dict[str, Any],
    *,
    actor: str,
    source: str,
    repeat: bool = False,
    sent_at: datetime | None = None,
    outbox_only: bool = False,
) -> NoticeRecord:
    """Store the notice under its code; refuses a repeat of published content unless `repeat`.

    An update must reference a stored notice. The stored payload carries the time the notice
    was rendered for (`sent_at`), so every later render says exactly what the preview said.
    `outbox_only` (a test key's notice: exercise or test mode only) sends it to the outbox
    transports whatever the configuration.
    """
    if outbox_only and notice.envelope.mode.value == "actual":
        raise NoticeInvalid(
            [NoticeProblem("mode", "a test key may only publish exercise and test notices")]
        )
    references_id = None
    if notice.envelope.references:
        first = find_public(session, notice.envelope.references)
        if first is None:
            raise NoticeInvalid(
                [
                    NoticeProblem(
                        "references", f"no notice has the code {notice.envelope.references!r}"
                    )
                ]
            )
        # Updates of updates still hang off the first notice, so one page shows the thread.
        references_id = first.references_id or first.id
    digest = content_hash(raw)
    existing = find_duplicate(session, digest)
    if existing is not None and not repeat:
        raise DuplicateNotice(existing)
    code = next_code(session, digest)
    payload = dict(raw)
    payload["sent_at"] = (sent_at or notice.sent_at).isoformat()
    stored = NoticeRecord(
        code=code,
        scenario=notice.scenario.id,
        message_type=notice.envelope.message_type.value,
        mode=notice.envelope.mode.value,
        status=NoticeState.sent,
        references_id=references_id,
        payload=payload,
        content_hash=digest,
        created_by=actor,
        outbox_only=outbox_only,
        source=source,
        sent_at=utcnow(),
        sent_by=actor,
        updated_at=utcnow(),
        updated_by=actor,
        # The caller plans it at once (deliver, a schedule); a releaser takes over only if the
        # caller dies before mark_planned (service.workflow.releaser).
        planning_lease=utcnow() + PLANNING_LEASE,
    )
    session.add(stored)
    session.flush()
    record(
        session,
        actor=actor,
        action="notice.published",
        subject_type="notice",
        subject_id=stored.id,
        source=source,
        details={
            "code": code,
            "scenario": stored.scenario,
            "mode": stored.mode,
            **({"outbox_only": True} if outbox_only else {}),
            # A deliberate repeat is worth seeing in the audit log.
            **({"repeat_of": existing.code} if existing is not None else {}),
        },
    )
    emit_notice(session, "notice.sent", stored, {})
    return stored
