"""Recording messages handed to a provider, and moving their status forward from callbacks.

Providers report a message's progress in callbacks that can arrive late, twice or out of order
(a "sent" callback after "delivered"). Statuses therefore have an order, and an update only ever
moves a message forward: queued < sending < sent < delivered, and delivered, undelivered, failed
and canceled are final. The check and the write are one UPDATE statement, so two callbacks for
the same message handled at the same moment cannot undo each other. A final status also moves
the delivery that sent the message (service.delivery) to delivered or failed; a failed one then
falls back to the person's next channel.
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


def _update_delivery(
    session: Session, provider_id: str, status: str, error_code: str | None
) -> None:
    """Move the delivery that sent this message to delivered or failed (and fall back)."""
    from service.content import get_library
    from service.delivery.fallback import fall_back
    from service.delivery.models import POSSIBLE_DUPLICATE, Delivery, DeliveryStatus
    from service.notices.models import NoticeRecord
    from service.notices.publish import load_stored_notice
    from service.webhooks.events import emit_deliveries

    delivered = status == "delivered"
    delivery = session.scalars(
        sa.select(Delivery).where(
            Delivery.provider_id == provider_id, Delivery.status == DeliveryStatus.sent
        )
    ).first()
    if delivery is None:
        return
    if delivered:
        delivery.status = DeliveryStatus.delivered
        session.flush()
        emit_deliveries(session, [delivery.id])
        return
    delivery.status = DeliveryStatus.failed
    reason = f"the provider reported the message {status}" + (
        f" (error code {error_code})" if error_code else ""
    )
    # A delivery marked as a possible duplicate keeps the marking: tracking counts it.
    marked = (delivery.last_error or "").startswith(POSSIBLE_DUPLICATE)
    delivery.last_error = f"{POSSIBLE_DUPLICATE}; {reason}" if marked else reason
    record = session.get(NoticeRecord, delivery.notice_id)
    if record is not None:
        library = get_library()
        fall_back(session, delivery, load_stored_notice(record, library), library)
    session.flush()
    emit_deliveries(session, [delivery.id])


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
        if status in FINAL_STATUSES and status != "canceled":
            _update_delivery(session, provider_id, status, error_code)
        return "updated"
    current = session.scalar(
        sa.select(SentMessage.status).where(SentMessage.provider_id == provider_id)
    )
    if current is None:
        logger.warning("status %r for unknown message %s ignored", status, provider_id)
        return "unknown_message"
    logger.info("kept status %r of %s; %r came late", current, provider_id, status)
    return "stale"
