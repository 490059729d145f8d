"""The recipient register: people and functions to reach, with their needs and consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, Integer, String, Text, event, literal_column
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.recipients.codes import TWINS, join_codes, twin_default
from service.store.database import Base


class RecipientRecord(Base):
    """One person or function; lists (languages, audiences, areas, groups) are JSON arrays.

    Each list has a plain-text twin (service.recipients.codes) that planning reads and filters
    on; the twins are kept in step by their defaults and the update hook below. On PostgreSQL
    the language, audience and area twins have GIN indexes on their arrays (migration 0012).
    """

    __tablename__ = "recipients"

    id: Mapped[int] = mapped_column(primary_key=True)
    external_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    languages: Mapped[list[Any]] = mapped_column(JSON, default=list)  # BCP 47, preferred first
    audiences: Mapped[list[Any]] = mapped_column(JSON, default=list)
    areas: Mapped[list[Any]] = mapped_column(JSON, default=list)  # codes from areas.toml
    groups: Mapped[list[Any]] = mapped_column(JSON, default=list)
    language_codes: Mapped[str] = mapped_column(Text, default=twin_default("languages"))
    audience_codes: Mapped[str] = mapped_column(Text, default=twin_default("audiences"))
    area_codes: Mapped[str] = mapped_column(Text, default=twin_default("areas"))
    group_codes: Mapped[str] = mapped_column(Text, default=twin_default("groups"))
    legal_basis: Mapped[str] = mapped_column(Text, default="")  # consent or legal basis note
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
    # Raised by one in every UPDATE, ORM or Core (migration 0015): approvals bind to its sum.
    revision: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0", onupdate=literal_column("revision + 1")
    )


@event.listens_for(RecipientRecord, "before_insert")
@event.listens_for(RecipientRecord, "before_update")
def _sync_codes(_mapper: Any, _connection: Any, row: RecipientRecord) -> None:
    """Rewrite the text twins from the lists on every ORM write, so they never drift."""
    for source, twin in TWINS.items():
        setattr(row, twin, join_codes(getattr(row, source)))
