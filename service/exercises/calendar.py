"""An iCalendar (.ics) of upcoming tests and exercise injects that staff can subscribe to.

Each event's UID is the schedule and its fire time, so a calendar app that reloads the feed
updates the same events instead of adding copies; a paused or removed schedule's events leave
the feed. Times carry the Europe/Stockholm time zone (VTIMEZONE included).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from icalendar import Calendar, Event
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.config import Settings
from service.exercises.models import ScheduleKind, ScheduleRecord, ScheduleStatus
from service.exercises.rules import iter_fire_times, parse_rule
from service.exercises.schedules import as_utc

EVENT_MINUTES = 15
MAX_EVENTS = 500


def upcoming(
    session: Session, settings: Settings, *, now: datetime, until: datetime
) -> list[tuple[ScheduleRecord, datetime]]:
    """Every active schedule's fire times from `now` to `until`, in time order."""
    found: list[tuple[ScheduleRecord, datetime]] = []
    schedules = session.scalars(
        sa.select(ScheduleRecord).where(ScheduleRecord.status == ScheduleStatus.active.value)
    )
    for schedule in schedules:
        if schedule.next_fire_at is None:
            continue
        first = as_utc(schedule.next_fire_at)
        if schedule.kind != ScheduleKind.rule.value:
            if first <= until:
                found.append((schedule, first))
            continue
        if first <= until:
            found.append((schedule, first))
        rule = parse_rule(schedule.rule or "", settings.timezone)
        for moment in iter_fire_times(rule, first):
            if moment > until or len(found) >= MAX_EVENTS:
                break
            found.append((schedule, moment))
    return sorted(found, key=lambda item: (item[1], item[0].id))[:MAX_EVENTS]


def months_later(moment: datetime, months: int) -> datetime:
    """The same day and time `months` calendar months later (the last day if it is shorter)."""
    year, month = divmod(moment.month - 1 + months, 12)
    year, month = moment.year + year, month + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def calendar_ics(
    session: Session, settings: Settings, *, months: int = 12, now: datetime | None = None
) -> bytes:
    """The .ics feed of the next `months` months of tests and injects."""
    now = now or utcnow()
    zone = ZoneInfo(settings.timezone)
    until = months_later(now.astimezone(zone), months)
    calendar = Calendar()
    calendar.add("prodid", "-//Klarvarsel//Prov och övningar//SV")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"Provsändningar och övningar, {settings.municipality_name}")
    calendar.add("x-wr-timezone", settings.timezone)
    for schedule, moment in upcoming(session, settings, now=now, until=until):
        mode = schedule.payload.get("mode")
        kind = "Övning" if mode == "exercise" else "Provsändning"
        event = Event()
        event.add("uid", f"schedule-{schedule.id}-{moment:%Y%m%dT%H%M%SZ}@klarvarsel")
        event.add("dtstamp", now)
        event.add("dtstart", moment.astimezone(zone))
        event.add("duration", timedelta(minutes=EVENT_MINUTES))
        event.add("summary", f"{kind}: {schedule.name}")
        payload = schedule.payload
        channels = ", ".join(payload.get("channels", []))
        areas = ", ".join(payload.get("areas", []))
        event.add(
            "description",
            f"{kind} ({mode}) från Klarvarsel. Kanaler: {channels}. Områden: {areas}. "
            "Meddelandet är märkt och går bara till övningsdeltagare och testmottagare.",
        )
        event.add("categories", [kind])
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    calendar.add_missing_timezones(
        first_date=now.date(), last_date=until.date() + timedelta(days=1)
    )
    data: bytes = calendar.to_ical()
    return data
