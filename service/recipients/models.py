"""The recipient register: people and functions to reach, with their needs and consent."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class RecipientRecord(Base):
    """One person or function; lists (languages, audiences, areas, groups) are JSON arrays."""

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
    legal_basis: Mapped[str] = mapped_column(Text, default="")  # consent or legal basis note
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )
