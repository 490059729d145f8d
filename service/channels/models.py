"""Messages handed to a provider, and the statuses its callbacks report."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class SentMessage(Base):
    """One message a transport handed over; provider callbacks update its status."""

    __tablename__ = "sent_messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(String(64), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    transport: Mapped[str] = mapped_column(String(16))
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)
    to_masked: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class ReceiptInbox(Base):
    """A provider's status callback as it arrived, waiting for a worker to apply it.

    The callback route only appends here (one short insert) and answers at once; workers apply
    receipts in batches (service.delivery.receipts). A receipt for a message whose send is not
    recorded yet stays until it is (`tries` counts the rounds it waited).
    """

    __tablename__ = "receipt_inbox"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))
    error_code: Mapped[str | None] = mapped_column(String(16))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    tries: Mapped[int] = mapped_column(Integer, default=0)


class TransportCircuit(Base):
    """A circuit breaker per channel's transport, shared by every worker through the database.

    `closed`: send. `open`: the provider failed `failures` times in a row; nobody sends until
    `retry_at`, when one worker sends a probe (`half_open` until `probe_until`). `since` is when
    the outage began, for progress ("waiting for the SMS provider since 03:12").
    """

    __tablename__ = "transport_circuits"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    state: Mapped[str] = mapped_column(String(16), default="closed")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    probe_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened: Mapped[int] = mapped_column(Integer, default=0)  # times opened in this outage
    last_error: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
