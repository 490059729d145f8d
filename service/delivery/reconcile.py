"""Asking the provider about messages still `sent`, instead of trusting silence.

Twilio does not retry a status callback, so one lost on the way leaves a delivery `sent` for
ever: its report is wrong and a failed message never falls back. A delivery sent through a
provider with receipts gets `reconcile_at` (sent + `reconcile_after_seconds`). Workers take due
ones a few at a time: the claim moves `reconcile_at` on by a lease (with SKIP LOCKED on
PostgreSQL), so no two workers ask about the same message, and one that dies mid-way leaves
them to be asked again after the lease. Each answer goes through the receipts' path
(service.delivery.receipts.apply_statuses): statuses only move forward, and an undelivered or
failed message falls back to the next channel. A message still on its way is asked about again
after as long again as it has been out (10, 20, 40 minutes...), until `reconcile_hours`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.channels.base import TransportError
from service.clock import as_utc, utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.models import Delivery, DeliveryStatus
from service.delivery.receipts import apply_statuses

logger = logging.getLogger(__name__)

LEASE_SECONDS = 120.0  # a claim to ask about a message lasts this long
# (status, error code) from the provider; None: it does not know the message.
Answer = tuple[str, str | None] | None
Fetch = Callable[[str], Awaitable[Answer]]


@dataclass
class ReconcileRound:
    """What one round did: messages asked about, answers applied, and what they changed."""

    asked: int = 0
    answered: int = 0
    delivered: int = 0
    failed: int = 0


def claim_due(session: Session, limit: int) -> list[tuple[int, str]]:
    """Take up to `limit` deliveries still `sent` whose time to ask has come: (id, provider id)."""
    now = utcnow()
    query = (
        sa.select(Delivery.id, Delivery.provider_id)
        .where(
            Delivery.status == DeliveryStatus.sent,
            Delivery.reconcile_at <= now,
            Delivery.provider_id.is_not(None),
        )
        .order_by(Delivery.reconcile_at)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = [(int(i), str(p)) for i, p in session.execute(query)]
    if rows:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.id.in_([i for i, _ in rows]))
            .values(reconcile_at=now + timedelta(seconds=LEASE_SECONDS))
            .execution_options(synchronize_session=False)
        )
    return rows


def apply_answers(
    session: Session,
    answers: Sequence[tuple[int, str, Answer]],
    library: ContentLibrary,
    settings: Settings,
) -> ReconcileRound:
    """Apply the provider's answers as receipts; plan the next question for those still out."""
    done = ReconcileRound(answered=sum(1 for _, _, a in answers if a is not None))
    events = [(pid, a[0], a[1]) for _, pid, a in answers if a is not None]
    applied = apply_statuses(session, events, library)
    done.delivered, done.failed = applied.delivered, applied.failed
    now = utcnow()
    unknown = {i for i, _, a in answers if a is None}
    rows = session.execute(
        sa.select(Delivery.id, Delivery.sent_at).where(
            Delivery.id.in_([i for i, _, _ in answers]), Delivery.status == DeliveryStatus.sent
        )
    ).all()
    for delivery_id, sent_at in rows:
        following = None
        if delivery_id not in unknown and sent_at is not None:
            sent = as_utc(sent_at)
            wait = max(now - sent, timedelta(seconds=settings.reconcile_after_seconds))
            if now + wait <= sent + timedelta(hours=settings.reconcile_hours):
                following = now + wait
        session.execute(
            sa.update(Delivery)
            .where(Delivery.id == delivery_id)
            .values(reconcile_at=following)
            .execution_options(synchronize_session=False)
        )
    return done


async def ask_all(
    fetch: Fetch, due: Sequence[tuple[int, str]], take: Callable[[], Awaitable[None]]
) -> list[tuple[int, str, Answer]]:
    """Ask about each message (at the rate `take` allows); those not answered now are left out."""

    async def one(delivery_id: int, provider_id: str) -> tuple[int, str, Answer] | None:
        await take()
        try:
            return delivery_id, provider_id, await fetch(provider_id)
        except TransportError as exc:  # asked again once the claim's lease has passed
            logger.warning("could not reconcile delivery %s: %s", delivery_id, exc)
            return None

    got = await asyncio.gather(*(one(i, p) for i, p in due))
    return [g for g in got if g is not None]
