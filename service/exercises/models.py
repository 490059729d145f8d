"""Schedules, their firings, test recipients (canaries) and scripted exercise runs.

A firing is keyed by (schedule, fire time) with a unique constraint: whatever number of
schedulers run, and however often one restarts, a fire time is acted on at most once.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from service.clock import utcnow
from service.store.database import Base


class ScheduleKind(StrEnum):
    """A repeating rule, a one-off time, or one inject of a scripted exercise."""

    rule = "rule"
    once = "once"
    inject = "inject"


class ScheduleStatus(StrEnum):
    """Only active schedules fire; done and removed ones are kept for the reports."""

    active = "active"
    paused = "paused"
    done = "done"  # a one-off or inject that has been handled
    removed = "removed"


class FiringStatus(StrEnum):
    """What became of one fire time."""

    sending = "sending"  # the notice is published; its deliveries are being planned
    sent = "sent"  # published and planned: the workers send it
    missed = "missed"  # not run: outside the grace time, or superseded by a later fire time
    failed = "failed"  # not sent: the notice was invalid or failed its checks (see reason)


class RunStatus(StrEnum):
    """A scripted exercise run."""

    active = "active"
    paused = "paused"
    done = "done"
    cancelled = "cancelled"


class ExerciseRunRecord(Base):
    """One run of an exercise script; its injects are schedules of kind `inject`."""

    __tablename__ = "exercise_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    script: Mapped[str] = mapped_column(String(100))
    title: Mapped[str] = mapped_column(String(200))
    # T+0 in real time. Injects fire at start_at + offset / speed; pausing and moving shift it.
    start_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The script's own T+0: times inside its notices are moved by (start_at - nominal_start).
    nominal_start: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    speed: Mapped[float] = mapped_column(Float, default=1.0)
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.active.value)
    paused_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))


class ScheduleRecord(Base):
    """A notice to publish at the times of a rule, once, or as an exercise inject."""

    __tablename__ = "schedules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str | None] = mapped_column(String(200))  # vma-quarterly or a cron expression
    run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # once and inject
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)  # the notice, as submitted
    status: Mapped[str] = mapped_column(String(16), default=ScheduleStatus.active.value)
    grace_seconds: Mapped[int] = mapped_column(Integer)
    allow_failed_checks: Mapped[bool] = mapped_column(Boolean, default=False)
    # The earliest fire time not yet handled; None when nothing is left to fire.
    next_fire_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("exercise_runs.id"), index=True)
    inject_key: Mapped[str | None] = mapped_column(String(64))
    offset_seconds: Mapped[float | None] = mapped_column(Float)  # from the run's T+0
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class FiringRecord(Base):
    """One fire time of one schedule and what became of it."""

    __tablename__ = "schedule_firings"
    __table_args__ = (
        UniqueConstraint("schedule_id", "fire_time", name="uq_schedule_firings_once"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    schedule_id: Mapped[int] = mapped_column(ForeignKey("schedules.id"), index=True)
    fire_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # as scheduled (UTC)
    status: Mapped[str] = mapped_column(String(16))
    handled_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    late_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    notice_id: Mapped[int | None] = mapped_column(ForeignKey("notices.id"), index=True)
    planned: Mapped[int | None] = mapped_column(Integer)  # deliveries planned
    reason: Mapped[str | None] = mapped_column(Text)
    scheduler_id: Mapped[str] = mapped_column(String(100))


class CanaryRecord(Base):
    """A test recipient the municipality controls (a duty phone, a shared mailbox).

    Not a resident: canaries live outside the register, never receive actual alerts, and are
    reached by every exercise and test notice on their channel, so each test proves the channel
    end to end.
    """

    __tablename__ = "canaries"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_canaries_channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(254))
    label: Mapped[str] = mapped_column(String(200))
    language: Mapped[str] = mapped_column(String(16), default="sv")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
