"""The misfire policy, as pure functions of the due fire times, the clock and the grace time.

When the scheduler looks at a schedule, every fire time that has come since it last looked is
due. The latest of them runs once if it is at most the grace time late (default 1 hour); every
earlier one, and the latest when it is later than that, is recorded as missed with the reason.
A firing up to PUNCTUAL_SECONDS late counts as on time (ticks, a busy database).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from service.exercises.models import ScheduleKind, ScheduleRecord
from service.exercises.rules import next_fire_time, parse_rule
from service.exercises.schedules import as_utc

PUNCTUAL_SECONDS = 60.0  # a firing this late is on time (ticks, a busy database)
MAX_CATCH_UP = 1000  # fire times recorded one by one after an outage; beyond that, skipped


@dataclass(frozen=True)
class Decision:
    """Which of the due fire times runs (at most one) and which are missed, with reasons."""

    run: datetime | None
    missed: tuple[tuple[datetime, str], ...] = ()


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    if minutes < 2:
        return f"{seconds:.0f} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def decide(fire_times: Sequence[datetime], now: datetime, grace_seconds: float) -> Decision:
    """The misfire policy as a pure function of the due fire times, now and the grace time."""
    if not fire_times:
        return Decision(None)
    latest = fire_times[-1]
    late = (now - latest).total_seconds()
    if late <= max(grace_seconds, PUNCTUAL_SECONDS):
        superseded = f"missed: a later fire time ({latest.isoformat()}) was sent instead, once"
        return Decision(latest, tuple((t, superseded) for t in fire_times[:-1]))
    reason = (
        "missed: the scheduler was not running at the fire time and came back {late} later, "
        f"beyond the grace time of {_duration(grace_seconds)}"
    )
    return Decision(
        None,
        tuple((t, reason.format(late=_duration((now - t).total_seconds()))) for t in fire_times),
    )


def due_times(
    schedule: ScheduleRecord, now: datetime, timezone: str
) -> tuple[list[datetime], datetime | None]:
    """The fire times due by `now` (oldest first) and the first one after it."""
    first = as_utc(schedule.next_fire_at) if schedule.next_fire_at else None
    if first is None or first > now:
        return [], first
    if schedule.kind != ScheduleKind.rule.value:
        return [first], None
    rule = parse_rule(schedule.rule or "", timezone)
    times: list[datetime] = []
    moment: datetime | None = first
    while moment is not None and moment <= now and len(times) < MAX_CATCH_UP:
        times.append(moment)
        moment = next_fire_time(rule, moment)
    if moment is not None and moment <= now:
        moment = next_fire_time(rule, now)  # an outage longer than MAX_CATCH_UP fire times
    return times, moment
