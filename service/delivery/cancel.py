"""Cancelling a notice's deliveries: whatever has not been handed to a provider stays unsent."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.delivery.models import Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def cancel_deliveries(session: Session, notice_id: int) -> int:
    """Cancel every delivery of the notice not yet sent; returns how many were cancelled.

    Planned deliveries and claimed ones (status sending) become cancelled. A worker checks its
    claims a few times a second and drops cancelled ones before sending them; a message it has
    already handed to the provider (in flight, at most `worker_concurrency` per worker) finishes
    and is recorded as sent, because it was. Fallback deliveries are not created for a notice
    whose sending was cancelled.
    """
    now = utcnow()
    in_flight = (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(Delivery)
            .where(
                Delivery.notice_id == notice_id,
                Delivery.status == DeliveryStatus.sending,
                Delivery.lease_expires_at >= now,
            )
        )
        or 0
    )
    changed = session.execute(
        sa.update(Delivery)
        .where(
            Delivery.notice_id == notice_id,
            Delivery.status.in_([DeliveryStatus.planned, DeliveryStatus.sending]),
        )
        .values(status=DeliveryStatus.cancelled, lease_expires_at=None, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    count: int = changed.rowcount  # type: ignore[attr-defined]
    logger.info(
        "cancelled %d deliveries of notice %s; up to %d claimed by a worker may be in flight "
        "and finish as sent",
        count,
        notice_id,
        in_flight,
    )
    return count
