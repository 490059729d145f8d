"""Imported CAP alerts: the original message, the draft notice made from it, and its links.

A sender's identifier names one message for ever (CAP 1.2), so (sender, identifier) is unique:
the same message posted again is recognised instead of becoming a second draft.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class CapImport(Base):
    """One imported CAP alert and the draft notice mapped from it."""

    __tablename__ = "cap_imports"
    __table_args__ = (UniqueConstraint("sender", "identifier", name="uq_cap_imports_message"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sender: Mapped[str] = mapped_column(String(255))
    identifier: Mapped[str] = mapped_column(String(255))
    sent: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    status: Mapped[str] = mapped_column(String(16))  # CAP status: Actual, Exercise, Test
    msg_type: Mapped[str] = mapped_column(String(16))  # CAP msgType: Alert, Update, Cancel
    scenario: Mapped[str] = mapped_column(String(64))
    match_reason: Mapped[str] = mapped_column(String(500))
    # The draft notice (notice JSON) and what a person must fix or check before publishing it.
    notice: Mapped[dict[str, Any]] = mapped_column(JSON)
    problems: Mapped[list[str]] = mapped_column(JSON)
    notes: Mapped[list[str]] = mapped_column(JSON)
    # What an Update or Cancel follows: a published notice, or an earlier import.
    references_code: Mapped[str | None] = mapped_column(String(16))
    references_import_id: Mapped[int | None] = mapped_column(
        ForeignKey("cap_imports.id"), index=True
    )
    # The code of the notice this draft was published as (set by the publishing workflow).
    notice_code: Mapped[str | None] = mapped_column(String(16))
    original_xml: Mapped[bytes] = mapped_column(LargeBinary)
    xml_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
