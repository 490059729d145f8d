"""Claims on deliveries: leases, taking over expired ones, giving them back.

On PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so any number of workers never hold the same
delivery; on SQLite one worker runs. Lease times come from the database clock where it has one,
so a worker whose own clock runs fast cannot take over live leases. When a delivery is due
(`next_attempt_at`) is the service's own clock (service.clock), which wrote it: each column is
written and compared by the same clock.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)


def new_worker_id() -> str:
    """A name for this worker that says where it runs: host:pid:random."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def claim(
    session: Session,
    worker_id: str,
    batch_size: int,
    lease_seconds: float,
    *,
    channels: Sequence[str] | None = None,
    exclude: Collection[int] = (),
) -> list[Delivery]:
    """Claim up to `batch_size` deliveries that are due, or whose lease expired, for a lease.

    `exclude`: deliveries this worker still holds, so that it never claims one it is sending
    again (its lease may have run out while the provider was slow to answer). Call in a
    transaction of its own; the claim holds once it commits.
    """
    now = _lease_clock(session)
    due = sa.and_(Delivery.status == DeliveryStatus.planned, Delivery.next_attempt_at <= utcnow())
    expired = sa.and_(Delivery.status == DeliveryStatus.sending, Delivery.lease_expires_at < now)
    wanted = sa.and_(
        Delivery.channel.in_(channels) if channels else sa.true(),
        Delivery.id.not_in(exclude) if exclude else sa.true(),
    )
    if session.get_bind().dialect.name == "postgresql":
        # Expired leases first (they are the oldest work), then due rows in the order of the
        # claim index. SKIP LOCKED: rows another worker is claiming right now are passed over.
        ids = list(
            session.scalars(
                sa.select(Delivery.id)
                .where(expired, wanted)
                .order_by(Delivery.id)
                .limit(batch_size)
                .with_for_update(skip_locked=True)
            )
        )
        if len(ids) < batch_size:
            ids += session.scalars(
                sa.select(Delivery.id)
                .where(due, wanted)
                .order_by(Delivery.next_attempt_at, Delivery.id)
                .limit(batch_size - len(ids))
                .with_for_update(skip_locked=True)
            )
        chosen: sa.ColumnElement[bool] = Delivery.id.in_(ids)
        if not ids:
            return []
    else:
        # SQLite: one statement, so the write lock is taken at once and held to the commit.
        chosen = Delivery.id.in_(
            sa.select(Delivery.id)
            .where(sa.or_(due, expired), wanted)
            .order_by(Delivery.id)
            .limit(batch_size)
            .scalar_subquery()
        )
    rows = session.scalars(
        sa.update(Delivery)
        .where(chosen)
        .values(
            status=DeliveryStatus.sending,
            lease_owner=worker_id,
            lease_expires_at=now + timedelta(seconds=lease_seconds),
            updated_at=utcnow(),
            # Read before the update: a row that was `sending` is taken over from a dead worker.
            last_error=sa.case(
                (Delivery.status == DeliveryStatus.sending, POSSIBLE_DUPLICATE),
                else_=Delivery.last_error,
            ),
        )
        .returning(Delivery)
        .execution_options(populate_existing=True)
    ).all()
    taken = sum(1 for d in rows if d.last_error == POSSIBLE_DUPLICATE)
    if taken:
        logger.warning("%s took over %d deliveries whose lease had expired", worker_id, taken)
    return sorted(rows, key=lambda d: d.id)


def renew_leases(
    session: Session, worker_id: str, ids: Sequence[int], lease_seconds: float
) -> set[int]:
    """Extend the lease on those of `ids` still ours; the rest were cancelled or taken over."""
    if not ids:
        return set()
    now = _lease_clock(session)
    return set(
        session.scalars(
            sa.update(Delivery)
            .where(*_ours(worker_id, ids))
            .values(lease_expires_at=now + timedelta(seconds=lease_seconds), updated_at=utcnow())
            .returning(Delivery.id)
            .execution_options(synchronize_session=False)
        )
    )


def still_ours(session: Session, worker_id: str, ids: Sequence[int]) -> set[int]:
    """Those of `ids` this worker still holds (read only: cheap enough to ask often)."""
    if not ids:
        return set()
    return set(session.scalars(sa.select(Delivery.id).where(*_ours(worker_id, ids))))


def release(session: Session, worker_id: str, ids: Sequence[int]) -> int:
    """Give unsent claims back (at a clean stop), so another worker takes them at once."""
    if not ids:
        return 0
    changed = session.execute(
        sa.update(Delivery)
        .where(*_ours(worker_id, ids))
        .values(status=DeliveryStatus.planned, lease_expires_at=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return int(changed.rowcount)  # type: ignore[attr-defined]


def work_left(session: Session) -> bool:
    """Whether any delivery is still planned (due or later) or being sent."""
    pending = [DeliveryStatus.planned, DeliveryStatus.sending]
    found = session.scalar(sa.select(Delivery.id).where(Delivery.status.in_(pending)).limit(1))
    return found is not None


def _lease_clock(session: Session) -> Any:
    """Now for leases: the database's clock on PostgreSQL, the service clock on SQLite.

    Workers on every machine share that clock, so one whose own clock runs ahead cannot take
    over leases that have not expired.
    """
    if session.get_bind().dialect.name == "postgresql":
        return sa.func.now()
    return utcnow()


def _ours(worker_id: str, ids: Sequence[int]) -> list[sa.ColumnElement[bool]]:
    return [
        Delivery.id.in_(ids),
        Delivery.lease_owner == worker_id,
        Delivery.status == DeliveryStatus.sending,
    ]
