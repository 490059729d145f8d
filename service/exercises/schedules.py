"""Adding, listing, pausing, resuming and removing schedules (test broadcasts).

A schedule holds the notice it sends and a rule (`vma-quarterly` or a cron expression) or one
time. `next_fire_at` is the earliest fire time not yet handled; the scheduler advances it.
Pausing a rule skips the fire times that pass while it is paused (that is what pausing means);
a one-off resumed after its time is handled by the misfire policy (late within the grace time,
else missed).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.exercises.guard import failed_checks, validate_exercise_notice
from service.exercises.models import ScheduleKind, ScheduleRecord, ScheduleStatus
from service.exercises.rules import RuleInvalid, next_fire_time, parse_rule
from service.notices.links import notice_url
from service.notices.publish import content_hash, next_code
from service.notices.service import NoticeInvalid
from service.notices.text_safety import unsafe_characters

NAME_MAX_LENGTH = 100
MAX_GRACE_SECONDS = 7 * 24 * 3600


class ScheduleInvalid(ValueError):
    """The schedule cannot be stored; `problems` names every one with its place."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


class ChecksFailed(ValueError):
    """The notice failed variant checks; `failures` lists them (allow them explicitly)."""

    def __init__(self, failures: list[str]) -> None:
        self.failures = failures
        super().__init__(f"{len(failures)} variant checks failed")


def as_utc(moment: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands back naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def next_after(schedule: ScheduleRecord, after: datetime, timezone: str) -> datetime | None:
    """The schedule's first fire time strictly after `after` (a one-off: its time, if later)."""
    if schedule.kind == ScheduleKind.rule.value:
        return next_fire_time(parse_rule(schedule.rule or "", timezone), after)
    at = as_utc(schedule.run_at) if schedule.run_at else None
    return at if at is not None and at > after else None


def _name_problems(session: Session, name: str) -> list[str]:
    if not name.strip():
        return ["name: is empty"]
    if len(name) > NAME_MAX_LENGTH:
        return [f"name: is longer than {NAME_MAX_LENGTH} characters"]
    problems = [f"name: {p}" for p in unsafe_characters(name)]
    if name.strip().isdigit():
        problems.append("name: must not be a number (numbers are schedule ids)")
    taken = session.scalar(sa.select(ScheduleRecord.id).where(ScheduleRecord.name == name))
    if taken is not None:
        problems.append(f"name: schedule {taken} is already called {name!r}")
    return problems


@dataclass(frozen=True)
class NewSchedule:
    """What `add_schedule` was asked for."""

    name: str
    raw: dict[str, Any]
    rule: str | None = None
    run_at: datetime | None = None
    grace_seconds: int | None = None
    allow_failed_checks: bool = False


def add_schedule(
    session: Session,
    library: ContentLibrary,
    settings: Settings,
    new: NewSchedule,
    *,
    actor: str,
    source: str = "cli",
    now: datetime | None = None,
) -> ScheduleRecord:
    """Validate and store a schedule; ScheduleInvalid names every problem, ChecksFailed the checks.

    The notice must be an exercise or a test and an alert (an update follows a notice whose
    code is known only once it is sent: exercise scripts do that).
    """
    now = now or utcnow()
    problems = _name_problems(session, new.name)
    if (new.rule is None) == (new.run_at is None):
        problems.append("rule: give either a rule (--rule) or one time (--at), not both")
    first: datetime | None = None
    if new.rule is not None:
        try:
            first = next_fire_time(parse_rule(new.rule, settings.timezone), now)
            if first is None:
                problems.append(f"rule: {new.rule!r} never fires after now")
        except RuleInvalid as exc:
            problems.append(f"rule: {exc}")
    if new.run_at is not None:
        if new.run_at.tzinfo is None:
            problems.append("at: needs an offset, e.g. 2027-03-01T15:00:00+01:00")
        elif new.run_at <= now:
            problems.append(f"at: {new.run_at.isoformat()} has already passed")
        else:
            first = new.run_at.astimezone(UTC)
    grace = settings.schedule_grace_seconds if new.grace_seconds is None else new.grace_seconds
    if not 0 <= grace <= MAX_GRACE_SECONDS:
        problems.append(f"grace: must be between 0 and {MAX_GRACE_SECONDS} seconds")
    raw = {k: v for k, v in new.raw.items() if k != "sent_at"}  # each firing is sent at its time
    if raw.get("message_type", "alert") != "alert" or raw.get("references"):
        problems.append(
            "notice.message_type: a schedule sends an alert; updates and all-clears follow a "
            "notice by its code, so put them in an exercise script"
        )
    notice = None
    try:
        notice = validate_exercise_notice(raw, library, now=first or now)
    except NoticeInvalid as exc:
        problems += [f"notice.{p}" if p.location else f"notice: {p}" for p in exc.problems]
    if problems or notice is None or first is None:
        raise ScheduleInvalid(problems)
    if not new.allow_failed_checks:
        code = next_code(session, content_hash(raw))
        failures = failed_checks(notice, library, notice_url(settings, code))
        if failures:
            raise ChecksFailed(failures)
    schedule = ScheduleRecord(
        name=new.name.strip(),
        kind=(ScheduleKind.rule if new.rule is not None else ScheduleKind.once).value,
        rule=new.rule.strip() if new.rule is not None else None,
        run_at=first if new.run_at is not None else None,
        payload=raw,
        status=ScheduleStatus.active.value,
        grace_seconds=grace,
        allow_failed_checks=new.allow_failed_checks,
        next_fire_at=first,
        created_by=actor,
    )
    session.add(schedule)
    session.flush()
    _audit(
        session,
        schedule,
        "schedule.added",
        actor,
        {"next_fire_at": first.isoformat()},
        source=source,
    )
    return schedule


def _audit(
    session: Session,
    schedule: ScheduleRecord,
    action: str,
    actor: str,
    details: dict[str, Any],
    source: str,
) -> None:
    record(
        session,
        actor=actor,
        action=action,
        subject_type="schedule",
        subject_id=schedule.id,
        source=source,
        details={"name": schedule.name, "rule": schedule.rule, **details},
    )


def find_schedule(session: Session, ref: str) -> ScheduleRecord | None:
    """A schedule by id or by name."""
    if ref.strip().isdigit():
        return session.get(ScheduleRecord, int(ref))
    return session.scalar(sa.select(ScheduleRecord).where(ScheduleRecord.name == ref.strip()))


def list_schedules(session: Session, *, include_finished: bool = False) -> list[ScheduleRecord]:
    """Schedules in the order they next fire (finished and removed ones last, if asked for)."""
    query = sa.select(ScheduleRecord).where(ScheduleRecord.kind != ScheduleKind.inject.value)
    if not include_finished:
        query = query.where(
            ScheduleRecord.status.in_([ScheduleStatus.active.value, ScheduleStatus.paused.value])
        )
    rows = list(session.scalars(query.order_by(ScheduleRecord.id)))
    far = datetime.max.replace(tzinfo=UTC)
    return sorted(rows, key=lambda s: as_utc(s.next_fire_at) if s.next_fire_at else far)


def pause_schedule(
    session: Session, schedule: ScheduleRecord, *, actor: str, source: str = "cli"
) -> bool:
    """Stop firing until resumed; False if it was not active."""
    if schedule.status != ScheduleStatus.active.value:
        return False
    schedule.status = ScheduleStatus.paused.value
    _audit(session, schedule, "schedule.paused", actor, {}, source=source)
    return True


def resume_schedule(
    session: Session,
    schedule: ScheduleRecord,
    settings: Settings,
    *,
    actor: str,
    source: str = "cli",
    now: datetime | None = None,
) -> bool:
    """Fire again from now on (a rule skips what passed meanwhile); False if not paused."""
    if schedule.status != ScheduleStatus.paused.value:
        return False
    now = now or utcnow()
    if schedule.kind == ScheduleKind.rule.value:
        schedule.next_fire_at = next_after(schedule, now, settings.timezone)
    schedule.status = ScheduleStatus.active.value
    at = schedule.next_fire_at
    _audit(
        session,
        schedule,
        "schedule.resumed",
        actor,
        {"next_fire_at": at and as_utc(at).isoformat()},
        source=source,
    )
    return True


def remove_schedule(
    session: Session, schedule: ScheduleRecord, *, actor: str, source: str = "cli"
) -> bool:
    """Stop it for good (kept with its firings for the reports); False if already removed."""
    if schedule.status == ScheduleStatus.removed.value:
        return False
    schedule.status = ScheduleStatus.removed.value
    schedule.next_fire_at = None
    _audit(session, schedule, "schedule.removed", actor, {}, source=source)
    return True
