"""The stored notice: what the communicator submitted, as validated JSON plus lookup columns."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class NoticeRecord(Base):
    """One crisis notice; updates, all-clears and cancels point at the first notice."""

    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    scenario: Mapped[str] = mapped_column(String(64))
    message_type: Mapped[str] = mapped_column(String(16))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    references_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # sha256 of the submitted content (see notices.publish.content_hash): a repeat is refused.
    content_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    # Created with a test API key: its deliveries go to the outbox transports, whatever the
    # configured transports are (see service.delivery.worker).
    outbox_only: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
