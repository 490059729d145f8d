"""Firing due schedules: the misfire policy, the (schedule, fire time) key, publish and plan.

Every decision is made here from the stored schedules, the recorded firings and the service
clock, never from APScheduler's own idea of the time, so it can be tested at any date.

Which due fire time runs and which are missed is the misfire policy (service.exercises.misfire).

Exactly once: the firing row (unique on schedule and fire time) is inserted in the same
transaction that publishes the notice, so a second scheduler, a restart or a retry can never
publish a fire time twice: the loser's transaction fails on the key and publishes nothing.
Planning the deliveries follows in its own transactions and is idempotent; a scheduler that dies
between the two leaves the firing `sending`, and the next tick (of any scheduler) finishes it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from service.audit.service import record
from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.models import Delivery
from service.delivery.planning import plan_deliveries
from service.exercises.guard import failed_checks, summarise_failures, validate_exercise_notice
from service.exercises.misfire import decide, due_times
from service.exercises.models import (
    FiringRecord,
    FiringStatus,
    ScheduleRecord,
    ScheduleStatus,
)
from service.exercises.runs import inject_payload, update_run_status
from service.exercises.schedules import as_utc
from service.notices.links import notice_url
from service.notices.models import NoticeRecord
from service.notices.publish import (
    content_hash,
    load_stored_notice,
    mark_planned,
    next_code,
    publish_notice,
    reference_lookup,
)
from service.notices.service import Notice, NoticeInvalid
from service.recipients.areas import load_areas
from service.store.database import session_scope

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class FiringView:
    """What happened to one fire time, for logs, the CLI and tests."""

    schedule: str
    fire_time: datetime
    status: str
    late_seconds: float
    code: str | None = None
    reason: str | None = None


def _firing(
    session: Session,
    schedule: ScheduleRecord,
    fire_time: datetime,
    now: datetime,
    status: FiringStatus,
    scheduler_id: str,
    reason: str | None = None,
) -> FiringRecord:
    firing = FiringRecord(
        schedule_id=schedule.id,
        fire_time=fire_time,
        status=status.value,
        handled_at=now,
        late_seconds=max(0.0, (now - fire_time).total_seconds()),
        reason=reason,
        scheduler_id=scheduler_id,
    )
    session.add(firing)
    session.flush()  # claims the key now: a second scheduler's insert fails here or waits
    return firing


def _publish(
    session: Session,
    schedule: ScheduleRecord,
    firing: FiringRecord,
    now: datetime,
    settings: Settings,
    library: ContentLibrary,
) -> Notice | None:
    """Validate, check and publish the schedule's notice for this firing (None: it failed)."""
    try:
        raw = (
            inject_payload(session, schedule, library)
            if schedule.run_id
            else dict(schedule.payload)
        )
        notice = validate_exercise_notice(
            raw, library, now=now, references=reference_lookup(session)
        )
    except NoticeInvalid as exc:
        firing.status = FiringStatus.failed.value
        firing.reason = f"not sent: the notice is not valid now: {exc}"
        return None
    if not schedule.allow_failed_checks:
        url = notice_url(settings, next_code(session, content_hash(raw)))
        failures = failed_checks(notice, library, url)
        if failures:
            firing.status = FiringStatus.failed.value
            firing.reason = f"not sent: {summarise_failures(failures)}"
            return None
    stored = publish_notice(
        session, notice, raw, actor=f"schedule:{schedule.name}", source="scheduler", repeat=True
    )
    firing.notice_id = stored.id
    return notice


def _audit(session: Session, schedule: ScheduleRecord, firing: FiringRecord) -> None:
    record(
        session,
        actor="scheduler",
        action=f"schedule.{firing.status}",
        subject_type="schedule",
        subject_id=schedule.id,
        source=firing.scheduler_id,
        details={
            "name": schedule.name,
            "fire_time": firing.fire_time.isoformat(),
            "late_seconds": round(firing.late_seconds, 1),
            "notice_id": firing.notice_id,
            "reason": firing.reason,
        },
    )


def handle_schedule(
    engine: Engine,
    schedule_id: int,
    settings: Settings,
    library: ContentLibrary,
    *,
    scheduler_id: str,
    now: datetime,
) -> list[FiringView]:
    """Apply the misfire policy to one due schedule; publish and plan what runs."""
    now = now.astimezone(UTC)
    views: list[FiringView] = []
    to_plan: tuple[int, Notice] | None = None
    try:
        with session_scope(engine) as session:
            schedule = session.scalar(
                sa.select(ScheduleRecord)
                .where(
                    ScheduleRecord.id == schedule_id,
                    ScheduleRecord.status == ScheduleStatus.active.value,
                    ScheduleRecord.next_fire_at <= now,
                )
                .with_for_update()
            )
            if schedule is None:
                return []  # paused, removed or handled by another scheduler meanwhile
            times, following = due_times(schedule, now, settings.timezone)
            decision = decide(times, now, schedule.grace_seconds)
            firings = [
                _firing(session, schedule, t, now, FiringStatus.missed, scheduler_id, reason)
                for t, reason in decision.missed
            ]
            if decision.run is not None:
                firing = _firing(
                    session, schedule, decision.run, now, FiringStatus.sending, scheduler_id
                )
                notice = _publish(session, schedule, firing, now, settings, library)
                if notice is not None and firing.notice_id is not None:
                    to_plan = (firing.id, notice)
                firings.append(firing)
            schedule.next_fire_at = following
            if following is None:
                schedule.status = ScheduleStatus.done.value
            for firing in firings:
                _audit(session, schedule, firing)
            if schedule.run_id is not None:
                update_run_status(session, schedule.run_id)
            codes = _codes(session, [f.notice_id for f in firings if f.notice_id])
            views = [
                FiringView(
                    schedule.name,
                    as_utc(f.fire_time),
                    f.status,
                    f.late_seconds,
                    codes.get(f.notice_id or 0),
                    f.reason,
                )
                for f in firings
            ]
    except IntegrityError:
        # Another scheduler recorded this fire time first: nothing of ours was published.
        logger.warning("schedule %s: a fire time was handled by another scheduler", schedule_id)
        return []
    if to_plan is not None:
        status = _plan(engine, *to_plan, settings, library)
        views = [
            FiringView(v.schedule, v.fire_time, status, v.late_seconds, v.code, v.reason)
            if v.status == FiringStatus.sending.value
            else v
            for v in views
        ]
    for view in views:
        logger.info(
            "schedule %s: fire time %s %s (%.0f s late)%s",
            view.schedule,
            view.fire_time.isoformat(),
            view.status,
            view.late_seconds,
            f" as {view.code}" if view.code else "",
        )
    return views


def _codes(session: Session, notice_ids: list[int]) -> dict[int, str]:
    if not notice_ids:
        return {}
    rows = session.execute(
        sa.select(NoticeRecord.id, NoticeRecord.code).where(NoticeRecord.id.in_(notice_ids))
    )
    return {row[0]: row[1] for row in rows}


def _plan(
    engine: Engine, firing_id: int, notice: Notice, settings: Settings, library: ContentLibrary
) -> str:
    """Plan the firing's deliveries (idempotent) and mark it sent; its status after."""
    with session_scope(engine) as session:
        firing = session.get(FiringRecord, firing_id)
        stored = session.get(NoticeRecord, firing.notice_id) if firing else None
        if firing is None or stored is None:
            return FiringStatus.failed.value
        session.expunge(stored)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    try:
        plan_deliveries(
            factory,
            stored,
            notice,
            library,
            load_areas(settings.areas_file),
            settings,
            actor="scheduler",
            source="scheduler",
        )
    except Exception:  # the next tick finishes it (planning is idempotent)
        logger.exception("firing %s: planning failed; it will be resumed", firing_id)
        return FiringStatus.sending.value
    with session_scope(engine) as session:
        firing = session.get(FiringRecord, firing_id)
        assert firing is not None
        mark_planned(session, stored.id)
        firing.status = FiringStatus.sent.value
        firing.planned = session.scalar(
            sa.select(sa.func.count()).where(Delivery.notice_id == stored.id)
        )
    return FiringStatus.sent.value


def finish_planning(
    engine: Engine,
    settings: Settings,
    library: ContentLibrary,
    *,
    older_than: datetime | None = None,
) -> int:
    """Plan the firings a dead scheduler published but did not finish planning; how many."""
    query = sa.select(FiringRecord.id, FiringRecord.notice_id).where(
        FiringRecord.status == FiringStatus.sending.value, FiringRecord.notice_id.is_not(None)
    )
    if older_than is not None:
        query = query.where(FiringRecord.handled_at <= older_than)
    with session_scope(engine) as session:
        pending = session.execute(query).all()
        notices = {
            firing_id: load_stored_notice(session.get(NoticeRecord, notice_id), library)  # type: ignore[arg-type]
            for firing_id, notice_id in pending
        }
    for firing_id, notice in notices.items():
        _plan(engine, firing_id, notice, settings, library)
    return len(notices)


def fire_due(
    engine: Engine,
    settings: Settings,
    library: ContentLibrary,
    *,
    scheduler_id: str,
    now: datetime | None = None,
) -> list[FiringView]:
    """Handle every schedule that is due by `now` (default: the clock), oldest fire time first."""
    now = (now or utcnow()).astimezone(UTC)  # stored times are UTC (SQLite compares text)
    # A firing still `sending` when a tick starts belongs to a scheduler that died while
    # planning it (ticks never overlap in one process, and only the lock holder ticks);
    # planning again is idempotent, so even a scheduler that lost its lock mid-plan is harmless.
    finish_planning(engine, settings, library)
    with session_scope(engine) as session:
        due = session.scalars(
            sa.select(ScheduleRecord.id)
            .where(
                ScheduleRecord.status == ScheduleStatus.active.value,
                ScheduleRecord.next_fire_at <= now,
            )
            .order_by(ScheduleRecord.next_fire_at, ScheduleRecord.id)
        ).all()
    views: list[FiringView] = []
    for schedule_id in due:
        views += handle_schedule(
            engine, schedule_id, settings, library, scheduler_id=scheduler_id, now=now
        )
    return views
