"""Recording messages handed to a provider, and moving their status forward from callbacks.

Providers report a message's progress in callbacks that can arrive late, twice or out of order
(a "sent" callback after "delivered"). Statuses therefore have an order, and an update only ever
moves a message forward: queued < sending < sent < delivered, and delivered, undelivered, failed
and canceled are final. The check and the write are one UPDATE statement, so two callbacks for
the same message handled at the same moment cannot undo each other. What a final status means
for the delivery that sent the message is the delivery layer's business (service.delivery
.receipts applies the receipt inbox and calls `advance_statuses` here): this layer never
imports it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.channels.base import OutgoingMessage, SendResult, mask_address
from service.channels.models import SentMessage
from service.clock import utcnow

logger = logging.getLogger(__name__)

# Twilio's message statuses (and the outbox's "sent") with their place in a message's life.
STATUS_ORDER: dict[str, int] = {
    "accepted": 0,
    "scheduled": 0,
    "queued": 0,
    "sending": 1,
    "sent": 2,
    "delivered": 3,
    "undelivered": 3,
    "failed": 3,
    "canceled": 3,
}
FINAL_STATUSES = frozenset(s for s, rank in STATUS_ORDER.items() if rank == 3)
# Transports whose provider reports delivery in status callbacks. A message handed to any other
# (SMTP, the outbox) stays `sent`: it is never confirmed delivered.
DELIVERY_RECEIPTS = frozenset({"twilio"})

StatusOutcome = Literal["updated", "stale", "unknown_message", "unknown_status"]


def record_sent(session: Session, message: OutgoingMessage, result: SendResult) -> SentMessage:
    """Add a SentMessage row for a message a transport accepted (address masked)."""
    row = SentMessage(
        reference=message.reference,
        channel=message.channel,
        transport=result.transport,
        provider_id=result.provider_id,
        to_masked=mask_address(message.to),
        status=result.status,
        error_code=None,
    )
    session.add(row)
    session.flush()
    return row


def record_sent_many(session: Session, sent: Sequence[tuple[OutgoingMessage, SendResult]]) -> None:
    """Add SentMessage rows for many accepted messages in one statement (addresses masked).

    A provider id already stored is kept once: an e-mail sent twice (a slow worker whose lease
    was taken over records its send too) carries the same Message-ID as the row recorded first.
    """
    if not sent:
        return
    now = utcnow()
    rows = [
        {
            "reference": message.reference,
            "channel": message.channel,
            "transport": result.transport,
            "provider_id": result.provider_id,
            "to_masked": mask_address(message.to),
            "status": result.status,
            "error_code": None,
            "created_at": now,
            "updated_at": now,
        }
        for message, result in sent
    ]
    table = cast(sa.Table, SentMessage.__table__)
    statement: Any
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        statement = pg_insert(table).on_conflict_do_nothing(index_elements=["provider_id"])
    elif session.get_bind().dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        statement = sqlite_insert(table).on_conflict_do_nothing(index_elements=["provider_id"])
    else:  # pragma: no cover - only SQLite and PostgreSQL are supported
        statement = sa.insert(table)
    session.execute(statement, rows)


def apply_status(
    session: Session, provider_id: str, status: str, error_code: str | None = None
) -> StatusOutcome:
    """Move a message's status forward; an older or equal status never overwrites a newer one."""
    rank = STATUS_ORDER.get(status)
    if rank is None:
        logger.warning("ignored unknown status %r for message %s", status, provider_id)
        return "unknown_status"
    behind = [s for s, r in STATUS_ORDER.items() if r < rank]
    changed = session.execute(
        sa.update(SentMessage)
        .where(SentMessage.provider_id == provider_id, SentMessage.status.in_(behind))
        .values(status=status, error_code=error_code or None)
        .execution_options(synchronize_session=False)
    )
    if changed.rowcount:  # type: ignore[attr-defined]
        return "updated"
    current = session.scalar(
        sa.select(SentMessage.status).where(SentMessage.provider_id == provider_id)
    )
    if current is None:
        logger.warning("status %r for unknown message %s ignored", status, provider_id)
        return "unknown_message"
    logger.info("kept status %r of %s; %r came late", current, provider_id, status)
    return "stale"


def _statuses(session: Session, ids: list[str]) -> dict[str, str]:
    """The stored status of each of these provider ids that has a SentMessage."""
    found: dict[str, str] = {}
    query = sa.select(SentMessage.provider_id, SentMessage.status)
    for start in range(0, len(ids), 1000):
        part = ids[start : start + 1000]
        found.update(
            (pid, st) for pid, st in session.execute(query.where(SentMessage.provider_id.in_(part)))
        )
    return found


def _rank(column: Any) -> Any:
    return sa.case(STATUS_ORDER, value=column, else_=-1)


def advance_statuses(
    session: Session, events: Sequence[tuple[str, str, str | None]]
) -> tuple[dict[str, tuple[str, str | None]], set[str]]:
    """Apply many (provider id, status, error code) events in order, each only forward.

    Returns the messages whose status moved, with their new status and error code, and the
    provider ids no SentMessage has yet (a callback that overtook the recording of its send).
    """
    ids = list({pid for pid, _, _ in events})
    current: dict[str, str] = {}
    for chunk in range(0, len(ids), 1000):
        part = ids[chunk : chunk + 1000]
        query = sa.select(SentMessage.provider_id, SentMessage.status)
        current.update(
            (p, st) for p, st in session.execute(query.where(SentMessage.provider_id.in_(part)))
        )
    moved: dict[str, tuple[str, str | None]] = {}
    unknown: set[str] = set()
    for pid, status, code in events:
        rank = STATUS_ORDER.get(status)
        if rank is None:
            logger.warning("ignored unknown status %r for message %s", status, pid)
        elif pid not in current:
            unknown.add(pid)
        elif STATUS_ORDER.get(moved.get(pid, (current[pid], None))[0], -1) < rank:
            moved[pid] = (status, code or None)
    if not moved:
        return {}, unknown
    table = cast(sa.Table, SentMessage.__table__)
    session.execute(
        sa.update(table)
        .where(
            table.c.provider_id == sa.bindparam("b_pid"),
            _rank(table.c.status) < sa.bindparam("b_rank"),
        )
        .values(
            status=sa.bindparam("b_status"), error_code=sa.bindparam("b_code"), updated_at=utcnow()
        ),
        [
            {"b_pid": pid, "b_rank": STATUS_ORDER[st], "b_status": st, "b_code": code}
            for pid, (st, code) in moved.items()
        ],
    )
    # Another applier may have moved some further meanwhile: report only what we wrote.
    written: dict[str, str] = {}
    keys = list(moved)
    for chunk in range(0, len(keys), 1000):
        part = keys[chunk : chunk + 1000]
        query = sa.select(SentMessage.provider_id, SentMessage.status)
        written.update(
            (p, st) for p, st in session.execute(query.where(SentMessage.provider_id.in_(part)))
        )
    return {pid: v for pid, v in moved.items() if written.get(pid) == v[0]}, unknown
