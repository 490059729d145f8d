"""Storing a validated notice under a short public code, with its audit event."""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.notices.models import NoticeRecord
from service.notices.service import Notice, NoticeInvalid, NoticeProblem

# No 0/O, 1/I/L: codes are read aloud on the phone and typed from printed notices.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 6


def new_code() -> str:
    """A random public code, short enough for an SMS link (/n/K7M3PX)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def find_by_code(session: Session, code: str) -> NoticeRecord | None:
    """The stored notice with this public code (case-insensitive)."""
    return session.scalar(sa.select(NoticeRecord).where(NoticeRecord.code == code.upper()))


def thread_of(session: Session, first: NoticeRecord) -> list[NoticeRecord]:
    """The first notice and every update, all-clear and cancel that follows it, oldest first."""
    followers = session.scalars(
        sa.select(NoticeRecord)
        .where(NoticeRecord.references_id == first.id)
        .order_by(NoticeRecord.created_at, NoticeRecord.id)
    ).all()
    return [first, *followers]


def publish_notice(
    session: Session, notice: Notice, raw: dict[str, Any], *, actor: str, source: str
) -> NoticeRecord:
    """Store the notice under a new code; an update must reference a stored first notice."""
    references_id = None
    if notice.envelope.references:
        first = find_by_code(session, notice.envelope.references)
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
    code = new_code()
    while find_by_code(session, code) is not None:
        code = new_code()
    stored = NoticeRecord(
        code=code,
        scenario=notice.scenario.id,
        message_type=notice.envelope.message_type.value,
        mode=notice.envelope.mode.value,
        status="published",
        references_id=references_id,
        payload=raw,
        created_by=actor,
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
        details={"code": code, "scenario": stored.scenario, "mode": stored.mode},
    )
    return stored
