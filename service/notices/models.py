"""The stored notice: what the communicator submitted, as validated JSON plus lookup columns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class NoticeState(StrEnum):
    """Where a notice is in its life (service.workflow moves it; nothing else does).

    draft -> submitted (awaiting approval) -> approved -> scheduled or sent; anything not yet
    sent may be discarded (cancelled). Only `sent` notices are public.
    """

    draft = "draft"
    submitted = "submitted"
    approved = "approved"
    scheduled = "scheduled"
    sent = "sent"
    cancelled = "cancelled"


class NoticeRecord(Base):
    """One crisis notice; updates, all-clears and cancels point at the first notice."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    scenario: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default=NoticeState.draft, index=True)
    references_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the submitted content (see notices.publish.content_hash): a repeat is refused.
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    # Created with a test API key: its deliveries go to the outbox transports, whatever the
    # configured transports are (see service.delivery.worker).
    outbox_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    source: Mapped[str | None] = mapped_column(String(32))  # web, api, cli, schedule, cap
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str | None] = mapped_column(String(200))
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    approved_by: Mapped[str | None] = mapped_column(String(200))
    # What was approved: every variant's text and the plan's counts (service.workflow).
    approval_fingerprint: Mapped[str | None] = mapped_column(String(64))
    self_approved: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    send_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sent_by: Mapped[str | None] = mapped_column(String(200))
    planned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    planning_lease: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_by: Mapped[str | None] = mapped_column(String(200))

    @property
    def public(self) -> bool:
        """Whether the notice has been sent (only sent notices have a public page)."""
        return self.status == NoticeState.sent
