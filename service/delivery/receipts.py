"""Applying provider receipts from the inbox to messages and deliveries, in batches, in order.

The callback route only appends receipts (service.channels.inbox); workers call
`apply_receipts` a few times a second. Statuses only move forward (service.channels.status), so
receipts applied twice or late change nothing. A receipt whose send is not recorded yet (the
callback overtook the worker's group commit) stays in the inbox and is tried again; one still
unmatched after RECEIPT_KEEP is dropped with a warning. On PostgreSQL several workers share the
inbox with SKIP LOCKED.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.channels.models import ReceiptInbox
from service.channels.status import advance_statuses
from service.clock import as_utc, utcnow
from service.content import ContentLibrary
from service.delivery.fallback import fall_back
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery, DeliveryStatus
from service.notices.models import NoticeRecord
from service.notices.publish import load_stored_notice
from service.webhooks.events import emit_deliveries

logger = logging.getLogger(__name__)

RECEIPT_KEEP = timedelta(hours=1)
_FAILED = frozenset({"failed", "undelivered"})


@dataclass
class ReceiptRound:
    """What one call did: receipts applied (or found stale), kept for later, dropped."""

    applied: int = 0
    waiting: int = 0
    dropped: int = 0
    delivered: int = 0
    failed: int = 0


def _chunks(values: list[Any], size: int = 1000) -> Iterable[list[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def apply_receipts(session: Session, library: ContentLibrary, limit: int = 1000) -> ReceiptRound:
    """Apply up to `limit` receipts from the inbox (fresh ones first, then ones that waited)."""
    table = cast(sa.Table, ReceiptInbox.__table__)
    locking = session.get_bind().dialect.name == "postgresql"

    def pick(where: Any, order: list[Any], count: int) -> list[Any]:
        query = sa.select(table).where(where).order_by(*order).limit(count)
        if locking:
            query = query.with_for_update(skip_locked=True)
        return list(session.execute(query))

    rows = pick(table.c.tries == 0, [table.c.id], limit)
    # Those that waited take turns (ordered by how often they were tried), never blocking.
    rows += pick(table.c.tries > 0, [table.c.tries, table.c.id], max(1, limit // 10))
    result = ReceiptRound()
    if not rows:
        return result
    rows.sort(key=lambda r: r.id)
    applied = apply_statuses(
        session, [(r.provider_id, r.status, r.error_code) for r in rows], library
    )
    unknown = applied.unknown
    now = utcnow()
    done = [r.id for r in rows if r.provider_id not in unknown]
    stale = [
        r.id
        for r in rows
        if r.provider_id in unknown and as_utc(r.received_at) < now - RECEIPT_KEEP
    ]
    kept = [r.id for r in rows if r.provider_id in unknown and r.id not in set(stale)]
    for part in _chunks(done + stale):
        session.execute(sa.delete(table).where(table.c.id.in_(part)))
    for part in _chunks(kept):
        session.execute(
            sa.update(table).where(table.c.id.in_(part)).values(tries=table.c.tries + 1)
        )
    if stale:
        logger.warning("dropped %d receipts for messages never recorded as sent", len(stale))
    result.applied, result.waiting, result.dropped = len(done), len(kept), len(stale)
    result.delivered, result.failed = applied.delivered, applied.failed
    return result


@dataclass
class Applied:
    """What statuses did: deliveries delivered and failed; provider ids not recorded yet."""

    unknown: set[str] = field(default_factory=set)
    delivered: int = 0
    failed: int = 0


def apply_statuses(
    session: Session, events: Sequence[tuple[str, str, str | None]], library: ContentLibrary
) -> Applied:
    """Apply (provider id, status, error code) in order: callbacks and reconciliation alike.

    Messages move only forward; a delivered message makes its delivery `delivered`, a failed or
    undelivered one fails it and falls back to the next channel (webhook events for both).
    """
    moved, unknown = advance_statuses(session, events)
    result = Applied(unknown=unknown)
    now = utcnow()
    delivered = [pid for pid, (status, _) in moved.items() if status == "delivered"]
    for part in _chunks(delivered):
        changed = list(
            session.scalars(
                sa.update(Delivery)
                .where(Delivery.provider_id.in_(part), Delivery.status == DeliveryStatus.sent)
                .values(status=DeliveryStatus.delivered, updated_at=now)
                .returning(Delivery.id)
                .execution_options(synchronize_session=False)
            )
        )
        result.delivered += len(changed)
        emit_deliveries(session, changed)  # webhooks, when a subscription wants them
    for pid, (status, code) in moved.items():
        if status in _FAILED:
            result.failed += _fail_delivery(session, pid, status, code, library)
    return result


def _fail_delivery(
    session: Session, provider_id: str, status: str, error_code: str | None, library: ContentLibrary
) -> int:
    """The delivery that sent this message failed: record why and fall back; 1 if it was sent."""
    delivery = session.scalars(
        sa.select(Delivery).where(
            Delivery.provider_id == provider_id, Delivery.status == DeliveryStatus.sent
        )
    ).first()
    if delivery is None:
        return 0
    delivery.status = DeliveryStatus.failed
    reason = f"the provider reported the message {status}" + (
        f" (error code {error_code})" if error_code else ""
    )
    # A delivery marked as a possible duplicate keeps the marking: tracking counts it.
    marked = (delivery.last_error or "").startswith(POSSIBLE_DUPLICATE)
    delivery.last_error = f"{POSSIBLE_DUPLICATE}; {reason}" if marked else reason
    record = session.get(NoticeRecord, delivery.notice_id)
    if record is not None:
        fall_back(session, delivery, load_stored_notice(record, library), library)
    session.flush()
    emit_deliveries(session, [delivery.id])
    return 1


def apply_receipt(
    session: Session, provider_id: str, status: str, error_code: str | None, library: ContentLibrary
) -> str:
    """Apply one receipt now (tests, tools): 'updated', 'stale' or 'unknown_message'."""
    moved, unknown = advance_statuses(session, [(provider_id, status, error_code)])
    if provider_id in unknown:
        return "unknown_message"
    if provider_id not in moved:
        return "stale"
    if status == "delivered":
        session.execute(
            sa.update(Delivery)
            .where(Delivery.provider_id == provider_id, Delivery.status == DeliveryStatus.sent)
            .values(status=DeliveryStatus.delivered, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    elif status in _FAILED:
        _fail_delivery(session, provider_id, status, error_code, library)
    return "updated"
