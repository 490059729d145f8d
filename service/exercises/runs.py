"""Running a script: its injects become one-off schedules, paused, resumed or moved together.

An inject fires at the run's T+0 + offset / speed (speed 1 is real time; 10 or 60 compress the
script). Pausing holds every inject not yet sent; resuming moves them on by the time spent
paused, and moving sets a new T+0: either way the gaps between the injects stay as written.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.exercises.models import (
    ExerciseRunRecord,
    FiringRecord,
    RunStatus,
    ScheduleKind,
    ScheduleRecord,
    ScheduleStatus,
)
from service.exercises.schedules import as_utc
from service.exercises.scripts import REFERENCE_PREFIX, Script
from service.notices.models import NoticeRecord
from service.notices.scenarios import FieldType
from service.notices.service import NoticeInvalid, NoticeProblem

MAX_SPEED = 3600.0
PAST_SLACK = timedelta(seconds=60)  # a T+0 given as "now" on the command line is not the past


class RunInvalid(ValueError):
    """The run cannot be started or changed; the message says why."""


def _inject_time(run: ExerciseRunRecord, inject: ScheduleRecord) -> datetime:
    return as_utc(run.start_at) + timedelta(seconds=(inject.offset_seconds or 0) / run.speed)


def start_run(
    session: Session,
    script: Script,
    settings: Settings,
    *,
    start_at: datetime | None = None,
    speed: float = 1.0,
    actor: str,
    source: str = "cli",
    now: datetime | None = None,
) -> ExerciseRunRecord:
    """Schedule every inject of the script from `start_at` (default now) at `speed`."""
    now = (now or utcnow()).astimezone(UTC)
    start = (start_at or now).astimezone(UTC)
    if not 0 < speed <= MAX_SPEED:
        raise RunInvalid(f"speed: must be above 0 and at most {MAX_SPEED:.0f}")
    if start < now - PAST_SLACK:
        raise RunInvalid(f"start: {start.isoformat()} has already passed")
    run = ExerciseRunRecord(
        script=script.id,
        title=script.title,
        start_at=start,
        nominal_start=script.nominal_start.astimezone(UTC),
        speed=speed,
        status=RunStatus.active.value,
        created_by=actor,
    )
    session.add(run)
    session.flush()
    for inject in script.injects:
        schedule = ScheduleRecord(
            name=f"exercise {run.id} {inject.key}",
            kind=ScheduleKind.inject.value,
            payload={k: v for k, v in inject.raw.items() if k != "sent_at"},
            status=ScheduleStatus.active.value,
            grace_seconds=settings.schedule_grace_seconds,
            allow_failed_checks=False,
            run_id=run.id,
            inject_key=inject.key,
            offset_seconds=inject.offset.total_seconds(),
            created_by=actor,
        )
        schedule.run_at = schedule.next_fire_at = _inject_time(run, schedule)
        session.add(schedule)
    session.flush()
    _audit(
        session,
        run,
        "exercise.started",
        actor,
        {"speed": speed, "start": start.isoformat()},
        source=source,
    )
    return run


def _audit(
    session: Session,
    run: ExerciseRunRecord,
    action: str,
    actor: str,
    details: dict[str, Any],
    source: str,
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        subject_type="exercise_run",
        subject_id=run.id,
        source=source,
        details={"script": run.script, **details},
    )


def injects_of(session: Session, run_id: int) -> list[ScheduleRecord]:
    """The run's inject schedules in script order."""
    return list(
        session.scalars(
            sa.select(ScheduleRecord)
            .where(ScheduleRecord.run_id == run_id)
            .order_by(ScheduleRecord.offset_seconds, ScheduleRecord.id)
        )
    )


def list_runs(session: Session) -> list[ExerciseRunRecord]:
    """Every run, newest first."""
    return list(session.scalars(sa.select(ExerciseRunRecord).order_by(ExerciseRunRecord.id.desc())))


def pause_run(
    session: Session,
    run: ExerciseRunRecord,
    *,
    actor: str,
    source: str = "cli",
    now: datetime | None = None,
) -> bool:
    """Hold every inject not yet sent; False if the run was not active."""
    if run.status != RunStatus.active.value:
        return False
    run.status, run.paused_at = RunStatus.paused.value, (now or utcnow()).astimezone(UTC)
    for inject in injects_of(session, run.id):
        if inject.status == ScheduleStatus.active.value:
            inject.status = ScheduleStatus.paused.value
    _audit(session, run, "exercise.paused", actor, {}, source=source)
    return True


def _reschedule(session: Session, run: ExerciseRunRecord, now: datetime) -> None:
    """Put the unsent injects at T+0 + offset / speed again (keeps the gaps)."""
    pending = [
        i
        for i in injects_of(session, run.id)
        if i.status in (ScheduleStatus.active.value, ScheduleStatus.paused.value)
    ]
    late = [i.inject_key for i in pending if _inject_time(run, i) < now - PAST_SLACK]
    if late:
        raise RunInvalid(f"that would put injects in the past: {', '.join(map(str, late))}")
    for inject in pending:
        inject.run_at = inject.next_fire_at = _inject_time(run, inject)
        inject.status = ScheduleStatus.active.value


def resume_run(
    session: Session,
    run: ExerciseRunRecord,
    *,
    actor: str,
    source: str = "cli",
    now: datetime | None = None,
) -> bool:
    """Continue after a pause: every unsent inject moves on by the time spent paused."""
    if run.status != RunStatus.paused.value or run.paused_at is None:
        return False
    now = (now or utcnow()).astimezone(UTC)
    paused = now - as_utc(run.paused_at)
    run.start_at = as_utc(run.start_at) + paused
    run.status, run.paused_at = RunStatus.active.value, None
    _reschedule(session, run, now)
    _audit(
        session,
        run,
        "exercise.resumed",
        actor,
        {"paused_seconds": paused.total_seconds()},
        source=source,
    )
    return True


def move_run(
    session: Session,
    run: ExerciseRunRecord,
    *,
    to: datetime | None = None,
    by: timedelta | None = None,
    actor: str,
    source: str = "cli",
    now: datetime | None = None,
) -> None:
    """Move the whole run to a new T+0 (or by a duration), keeping the gaps between injects."""
    if run.status not in (RunStatus.active.value, RunStatus.paused.value):
        raise RunInvalid(f"exercise {run.id} is {run.status}; only an unfinished run moves")
    if (to is None) == (by is None):
        raise RunInvalid("give either a new start (--to) or a shift (--by)")
    now = (now or utcnow()).astimezone(UTC)
    before = as_utc(run.start_at)
    run.start_at = to.astimezone(UTC) if to is not None else before + (by or timedelta(0))
    if run.status == RunStatus.paused.value:
        # Still paused: the injects wait; they are placed when the run resumes.
        run.paused_at = now
    _reschedule(session, run, now)
    if run.status == RunStatus.paused.value:
        for inject in injects_of(session, run.id):
            if inject.status == ScheduleStatus.active.value:
                inject.status = ScheduleStatus.paused.value
    _audit(
        session,
        run,
        "exercise.moved",
        actor,
        {"from": before.isoformat(), "to": run.start_at.isoformat()},
        source=source,
    )


def cancel_run(
    session: Session, run: ExerciseRunRecord, *, actor: str, source: str = "cli"
) -> bool:
    """Stop the run: no further inject is sent; False if it had already ended."""
    if run.status in (RunStatus.done.value, RunStatus.cancelled.value):
        return False
    run.status = RunStatus.cancelled.value
    for inject in injects_of(session, run.id):
        if inject.status in (ScheduleStatus.active.value, ScheduleStatus.paused.value):
            inject.status, inject.next_fire_at = ScheduleStatus.removed.value, None
    _audit(session, run, "exercise.cancelled", actor, {}, source=source)
    return True


def update_run_status(session: Session, run_id: int) -> None:
    """Mark the run done once every inject has been handled."""
    run = session.get(ExerciseRunRecord, run_id)
    if run is None or run.status != RunStatus.active.value:
        return
    finished = (ScheduleStatus.done.value, ScheduleStatus.removed.value)
    if all(i.status in finished for i in injects_of(session, run_id)):
        run.status = RunStatus.done.value


def _followed_code(session: Session, inject: ScheduleRecord, key: str) -> str:
    first = session.scalar(
        sa.select(ScheduleRecord).where(
            ScheduleRecord.run_id == inject.run_id, ScheduleRecord.inject_key == key
        )
    )
    code = None
    if first is not None:
        code = session.scalar(
            sa.select(NoticeRecord.code)
            .join(FiringRecord, FiringRecord.notice_id == NoticeRecord.id)
            .where(FiringRecord.schedule_id == first.id)
        )
    if code is None:
        raise NoticeInvalid(
            [
                NoticeProblem(
                    "references",
                    f"the inject {key!r} it follows was not sent (missed, failed or not yet due), "
                    "so there is nothing to update",
                )
            ]
        )
    return code


def _shift(value: Any, kind: FieldType, delta: timedelta, days: int, zone: ZoneInfo) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if kind == FieldType.datetime:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=zone)
            return (moment + delta).astimezone(zone).isoformat()
        if kind == FieldType.date:
            return (date.fromisoformat(value) + timedelta(days=days)).isoformat()
    except ValueError:
        return value  # validation reports it
    return value


def inject_payload(
    session: Session, inject: ScheduleRecord, library: ContentLibrary
) -> dict[str, Any]:
    """The inject's notice as sent now: `@key` replaced by the code, times moved with the run."""
    run = session.get(ExerciseRunRecord, inject.run_id)
    raw = dict(inject.payload)
    if run is None:
        return raw
    reference = raw.get("references")
    if isinstance(reference, str) and reference.startswith(REFERENCE_PREFIX):
        raw["references"] = _followed_code(
            session, inject, reference.removeprefix(REFERENCE_PREFIX)
        )
    zone = library.timezone
    start, nominal = as_utc(run.start_at), as_utc(run.nominal_start)
    delta = start - nominal
    days = (start.astimezone(zone).date() - nominal.astimezone(zone).date()).days
    scenario = library.scenarios.get(str(raw.get("scenario")))
    if scenario is not None and isinstance(raw.get("fields"), dict):
        fields = dict(raw["fields"])
        for spec in scenario.fields:
            if spec.name in fields and spec.type in (FieldType.datetime, FieldType.date):
                fields[spec.name] = _shift(fields[spec.name], spec.type, delta, days, zone)
        raw["fields"] = fields
    if raw.get("expires_at"):
        raw["expires_at"] = _shift(raw["expires_at"], FieldType.datetime, delta, days, zone)
    return raw
