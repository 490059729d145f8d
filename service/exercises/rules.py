"""Schedule rules: `vma-quarterly` by name, or a cron expression, in Europe/Stockholm.

Fire times are a pure function of the rule and an instant (`next_fire_times(rule, after)`), so
they are computed from the service clock and testable at any date; APScheduler's triggers do the
calendar work (its CronTrigger, ≥ 3.11.2, handles the daylight-saving changes).

Cron expressions are read as crontab(5) writes them: minute hour day-of-month month
day-of-week, with 0 or 7 = Sunday and 1 = Monday. (APScheduler 3's `from_crontab` counts 0 as
Monday, so "0 15 * * 1" would fire on Tuesdays: day-of-week is translated to names first.) When
both day-of-month and day-of-week are restricted a time must match both (APScheduler's AND,
which is what "first Monday" rules such as `1-7 * 1` mean; Vixie cron would OR them).
On the autumn change a wall-clock time that occurs twice fires once, unless the hour field
repeats every hour; a time that does not exist in spring fires at the same instant, an hour
later on the clock.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger

VMA_QUARTERLY = "vma-quarterly"
RULE_MAX_LENGTH = 200
QUARTER_MONTHS = (3, 6, 9, 12)
VMA_TIME = time(15, 0)
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")  # crontab numbering, 0 = Sunday
_DOW_PART = re.compile(r"^(\*|[0-9a-z]{1,3}(?:-[0-9a-z]{1,3})?)(?:/(\d{1,2}))?$")
NAMED_RULES = {
    VMA_QUARTERLY: "15:00 on the first Monday of March, June, September and December that is "
    "not a Swedish public holiday (the national outdoor warning signal test)",
}


class RuleInvalid(ValueError):
    """A rule that cannot be read; the message says what is wrong and how to write it."""


@lru_cache(maxsize=64)
def _swedish_holidays(year: int) -> frozenset[date]:
    # Sundays count as holidays in holidays.Sweden; a Monday never is one, so this is harmless.
    return frozenset(holidays.country_holidays("SE", years=year))


def first_working_monday(year: int, month: int) -> date:
    """The first Monday of the month that is not a Swedish public holiday."""
    first = date(year, month, 1)
    day = first + timedelta(days=(7 - first.weekday()) % 7)  # Monday is weekday 0
    while day in _swedish_holidays(year):
        day += timedelta(days=7)
    return day


class VmaQuarterlyTrigger(BaseTrigger):  # type: ignore[misc]
    """15:00 local time on the first non-holiday Monday of March, June, September, December."""

    def __init__(self, timezone: str = "Europe/Stockholm") -> None:
        self.timezone = ZoneInfo(timezone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The first fire time at or after `now` (and after `previous_fire_time`)."""
        start = now if previous_fire_time is None else max(now, previous_fire_time)
        local = start.astimezone(self.timezone)
        year = local.year
        while True:
            for month in QUARTER_MONTHS:
                day = first_working_monday(year, month)
                candidate = datetime.combine(day, VMA_TIME, self.timezone)
                if candidate >= start and (
                    previous_fire_time is None or candidate > previous_fire_time
                ):
                    return candidate
            year += 1

    def __str__(self) -> str:
        return VMA_QUARTERLY


def _weekday_number(token: str, expression: str) -> int:
    if token.isdigit():
        number = int(token)
        if number > 7:
            raise RuleInvalid(f"day of week {token} in {expression!r} is not 0-7 (0 and 7: Sunday)")
        return number % 7
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    raise RuleInvalid(f"day of week {token!r} in {expression!r} is not a number 0-7 or sun-sat")


def _weekdays(field: str, expression: str) -> str:
    """A crontab day-of-week field (0 = Sunday) as APScheduler day names."""
    field = field.lower()
    if field in ("*", "?"):
        return "*"
    chosen: set[int] = set()
    for part in field.split(","):
        match = _DOW_PART.match(part)
        if not match:
            raise RuleInvalid(f"cannot read the day of week {part!r} in {expression!r}")
        span, step_text = match.groups()
        step = int(step_text) if step_text else 1
        if step < 1:
            raise RuleInvalid(f"the step in {part!r} must be at least 1")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, high = span.split("-")
            first, last = _weekday_number(low, expression), _weekday_number(high, expression)
            if high == "7":
                last = 7
            if last < first:
                raise RuleInvalid(f"the range {part!r} in {expression!r} runs backwards")
        else:
            first = last = _weekday_number(span, expression)
        chosen.update(d % 7 for d in range(first, last + 1, step))
    # APScheduler counts Monday as 0; names say the same thing in both.
    return ",".join(DAY_NAMES[d] for d in sorted(chosen))


class CronRule:
    """A crontab expression with the corrections described in the module docstring."""

    def __init__(self, expression: str, timezone: str) -> None:
        fields = expression.split()
        if len(fields) != 5:
            raise RuleInvalid(
                f"{expression!r} has {len(fields)} fields; a cron rule has 5: minute hour "
                'day-of-month month day-of-week, e.g. "0 15 * * 1" for 15:00 every Monday'
            )
        minute, hour, day, month, weekday = fields
        self.expression = " ".join(fields)
        self.fixed_hours = "*" not in hour
        weekdays = _weekdays(weekday, expression)
        try:
            self.trigger = CronTrigger(
                minute=minute,
                hour=hour,
                day=day,
                month=month,
                day_of_week=weekdays,
                timezone=ZoneInfo(timezone),
            )
        except ValueError as exc:
            raise RuleInvalid(f"cannot read the cron rule {expression!r}: {exc}") from None
        self.timezone: tzinfo = ZoneInfo(timezone)

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        """The next fire time at or after `now`, once per wall-clock time on the autumn change."""
        candidate = self.trigger.get_next_fire_time(previous_fire_time, now)
        while (
            candidate is not None
            and previous_fire_time is not None
            and self.fixed_hours
            and _wall(candidate, self.timezone) == _wall(previous_fire_time, self.timezone)
        ):
            # 02:30 on the last Sunday of October happens twice; a daily test goes out once.
            candidate = self.trigger.get_next_fire_time(candidate, candidate)
        found: datetime | None = candidate
        return found


def _wall(moment: datetime, zone: tzinfo) -> datetime:
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)


Rule = VmaQuarterlyTrigger | CronRule


def parse_rule(text: str, timezone: str = "Europe/Stockholm") -> Rule:
    """The rule named or written in `text`; RuleInvalid says what is wrong."""
    text = text.strip()
    if not text:
        raise RuleInvalid(
            'a rule is needed: "vma-quarterly" or a cron expression like "0 15 * * 1"'
        )
    if len(text) > RULE_MAX_LENGTH:
        raise RuleInvalid(f"a rule is at most {RULE_MAX_LENGTH} characters")
    if text.lower() in NAMED_RULES:
        return VmaQuarterlyTrigger(timezone)
    if re.fullmatch(r"[a-z][a-z0-9-]*", text.lower()) and " " not in text:
        raise RuleInvalid(
            f"unknown rule {text!r}; named rules: {', '.join(NAMED_RULES)}; or write a cron "
            'expression like "0 15 * * 1"'
        )
    return CronRule(text, timezone)


def iter_fire_times(rule: Rule, after: datetime) -> Iterator[datetime]:
    """Fire times strictly after `after`, in order, as aware UTC instants."""
    if after.tzinfo is None:
        raise ValueError("`after` needs an offset")
    previous: datetime | None = None
    now = after + timedelta(microseconds=1)
    while True:
        found = rule.get_next_fire_time(previous, now)
        if found is None:
            return
        # Normalised through UTC, so a spring-forward gap shows the offset really in force.
        found = found.astimezone(UTC)
        yield found
        previous, now = found, found + timedelta(microseconds=1)


def next_fire_times(rule: Rule, after: datetime, count: int) -> list[datetime]:
    """The next `count` fire times strictly after `after` (UTC)."""
    times = []
    for moment in iter_fire_times(rule, after):
        times.append(moment)
        if len(times) >= count:
            break
    return times


def next_fire_time(rule: Rule, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`, or None."""
    return next(iter_fire_times(rule, after), None)
