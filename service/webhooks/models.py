"""Webhook subscriptions, the events an outbox keeps for them, and every attempt to deliver.

`webhook_events` is a transactional outbox: an event is written in the same transaction as
the state change it reports, with one `webhook_deliveries` row per subscription that wants it,
so nothing is lost if the process dies before sending. Senders claim deliveries with a lease,
as the delivery worker claims messages.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class WebhookStatus(StrEnum):
    """Where one event's delivery to one subscription is."""

    pending = "pending"  # waiting for its next attempt
    sending = "sending"  # claimed by a sender whose lease has not expired
    delivered = "delivered"  # the receiver answered 2xx
    failed = "failed"  # a permanent refusal (4xx other than 408/429), or retries ran out


class WebhookSubscription(Base):
    """An endpoint an API key wants events sent to, with the secret they are signed with."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    owner: Mapped[str] = mapped_column(String(200))  # the audit name: key:<prefix> or an e-mail
    url: Mapped[str] = mapped_column(String(2000))
    events: Mapped[list[str]] = mapped_column(JSON)
    # Standard Webhooks: whsec_ + base64 of the HMAC key, sealed (secret_box); shown once.
    secret: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(String(200), default="")
    test_only: Mapped[bool] = mapped_column(Boolean, default=False)  # a test key's: no actual
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookEvent(Base):
    """One thing that happened, as it is sent: the Standard Webhooks id, type and payload."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(40), unique=True)  # webhook-id: msg_...
    type: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(16))  # the notice's mode: a test key sees no actual
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WebhookDelivery(Base):
    """One event to one subscription: claimed, attempted, retried until it ends."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (Index("ix_webhook_deliveries_claim", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=WebhookStatus.pending.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Retries stop at this time (created + settings.webhook_retry_hours), whatever is left.
    give_up_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One HTTP request to a receiver and how it answered: the delivery log."""

    __tablename__ = "webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_deliveries.id"), index=True)
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[int] = mapped_column(Integer)
