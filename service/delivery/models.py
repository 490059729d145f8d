"""Deliveries: one message to one recipient on one channel, the unit of sending and tracking.

The table is a transactional outbox: planning inserts rows, workers claim them with a lease,
send, and record the outcome. A row survives any crash, so nothing planned is ever lost.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base

# Marks a delivery claimed after a lease expired: the worker that held it may have sent it, so
# the message may reach the person twice. The marking starts `last_error` and stays whatever
# happens to the delivery next (retries, success, failure, callbacks); tracking counts it.
POSSIBLE_DUPLICATE = "possible duplicate: a worker's lease expired while it was sending this"


class DeliveryStatus(StrEnum):
    """Where a delivery is; sent/delivered/failed/cancelled are the ends of the road."""

    planned = "planned"  # waiting for a worker (also after a temporary error, until retry)
    sending = "sending"  # claimed by a worker whose lease has not expired
    sent = "sent"  # the provider accepted it
    delivered = "delivered"  # the provider's callback confirmed delivery
    failed = "failed"  # permanent error, or temporary ones until the deadline
    cancelled = "cancelled"  # the notice was cancelled before it was sent


class Delivery(Base):
    """One message to one recipient on one channel."""

    __tablename__ = "deliveries"
    __table_args__ = (
        # One message per person per channel per notice, however many lists they are on.
        UniqueConstraint("notice_id", "recipient_key", "channel", name="uq_deliveries_once"),
        Index("ix_deliveries_claim", "status", "next_attempt_at"),
        Index("ix_deliveries_reconcile", "status", "reconcile_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("notices.id"), index=True)
    # Recipient row while it exists; after a GDPR deletion only the pseudonymous key remains.
    recipient_id: Mapped[int | None] = mapped_column(
        ForeignKey("recipients.id", ondelete="SET NULL"), index=True
    )
    recipient_key: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str | None] = mapped_column(String(254))  # cleared on GDPR deletion
    language: Mapped[str] = mapped_column(String(16))
    register: Mapped[str] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16))
    audience: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.planned.value)
    # Sends tried and recorded: every failure and the send that succeeded. A send lost in a
    # worker's crash is not counted; the possible-duplicate marking records it instead.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)
    last_error: Mapped[str | None] = mapped_column(Text)
    fallback_of_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Temporary errors are retried until this; empty: created_at + the notice's deadline
    # (settings.delivery_deadline_minutes). `klarvarsel retry` sets it when it re-queues.
    give_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When to ask the provider about a message still `sent` (no receipt came): set when a send
    # to a provider with receipts is recorded; moved on by each question (and as the lease of
    # the worker asking); empty: never (see service.delivery.reconcile).
    reconcile_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
