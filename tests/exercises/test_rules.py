"""Schedule rules: the national quarterly test against an independent computation, cron, DST."""

from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays
import pytest
from typer.testing import CliRunner

from service.cli import app
from service.exercises.rules import RuleInvalid, next_fire_times, parse_rule

STOCKHOLM = ZoneInfo("Europe/Stockholm")
runner = CliRunner()


def expected_vma_dates(first_year: int, last_year: int) -> list[date]:
    """Independent: walk every day, keep the first Monday of each quarter month off a holiday."""
    days = []
    for year in range(first_year, last_year + 1):
        public = holidays.Sweden(years=year)
        for month in (3, 6, 9, 12):
            day = date(year, month, 1)
            while day.weekday() != 0 or day in public:
                day += timedelta(days=1)
            days.append(day)
    return days


def local(moments: list[datetime]) -> list[datetime]:
    return [m.astimezone(STOCKHOLM) for m in moments]


def test_vma_quarterly_2027_to_2032_matches_an_independent_computation() -> None:
    start = datetime(2026, 12, 31, 23, 0, tzinfo=STOCKHOLM)
    times = local(next_fire_times(parse_rule("vma-quarterly"), start, 24))
    expected = expected_vma_dates(2027, 2032)
    assert [t.date() for t in times] == expected
    assert {(t.hour, t.minute, t.second) for t in times} == {(15, 0, 0)}
    # Winter time in March and December, summer time in June and September.
    offsets = {t.month: t.utcoffset() for t in times}
    assert offsets == {
        3: timedelta(hours=1),
        6: timedelta(hours=2),
        9: timedelta(hours=2),
        12: timedelta(hours=1),
    }
    # Spot checks by hand: 1 March 2027 is a Monday; 7 June 2027 is the first Monday of June.
    assert times[0].isoformat() == "2027-03-01T15:00:00+01:00"
    assert times[1].isoformat() == "2027-06-07T15:00:00+02:00"


def test_a_first_monday_on_a_public_holiday_moves_to_the_next_monday() -> None:
    # 6 June 2033, Sweden's National Day, is the first Monday of June.
    assert date(2033, 6, 6).weekday() == 0 and date(2033, 6, 6) in holidays.Sweden(years=2033)
    start = datetime(2033, 5, 1, tzinfo=STOCKHOLM)
    times = local(next_fire_times(parse_rule("vma-quarterly"), start, 2))
    assert [t.isoformat() for t in times] == [
        "2033-06-13T15:00:00+02:00",
        "2033-09-05T15:00:00+02:00",
    ]
    assert [t.date() for t in times] == expected_vma_dates(2033, 2033)[1:3]


def test_fire_times_are_strictly_after_the_given_instant() -> None:
    at = datetime(2027, 3, 1, 15, 0, tzinfo=STOCKHOLM)
    rule = parse_rule("vma-quarterly")
    assert local(next_fire_times(rule, at - timedelta(seconds=1), 1)) == [at]
    assert local(next_fire_times(rule, at, 1))[0].date() == date(2027, 6, 7)


def test_cron_day_of_week_counts_as_crontab_does() -> None:
    # APScheduler 3's from_crontab reads 1 as Tuesday; crontab(5) and our rules read Monday.
    after = datetime(2027, 3, 24, tzinfo=STOCKHOLM)  # a Wednesday
    mondays = local(next_fire_times(parse_rule("0 15 * * 1"), after, 3))
    assert [t.weekday() for t in mondays] == [0, 0, 0]
    sundays = local(next_fire_times(parse_rule("0 9 * * 0,7"), after, 2))
    assert [t.weekday() for t in sundays] == [6, 6]
    weekdays = local(next_fire_times(parse_rule("0 9 * * 1-5"), after, 7))
    assert [t.weekday() for t in weekdays] == [2, 3, 4, 0, 1, 2, 3]


def test_a_daily_time_fires_once_across_both_daylight_saving_changes() -> None:
    rule = parse_rule("30 2 * * *")
    autumn = local(next_fire_times(rule, datetime(2027, 10, 30, tzinfo=STOCKHOLM), 3))
    # 02:30 happens twice on 31 October 2027: a daily test goes out once, in summer time.
    assert [t.isoformat() for t in autumn] == [
        "2027-10-30T02:30:00+02:00",
        "2027-10-31T02:30:00+02:00",
        "2027-11-01T02:30:00+01:00",
    ]
    spring = local(next_fire_times(rule, datetime(2027, 3, 27, tzinfo=STOCKHOLM), 3))
    # 02:30 does not exist on 28 March 2027: it fires at that instant, 03:30 summer time.
    assert [t.isoformat() for t in spring] == [
        "2027-03-27T02:30:00+01:00",
        "2027-03-28T03:30:00+02:00",
        "2027-03-29T02:30:00+02:00",
    ]
    instants = [t.astimezone(ZoneInfo("UTC")) for t in autumn]
    gaps = [b - a for a, b in itertools.pairwise(instants)]
    assert gaps == [timedelta(hours=24), timedelta(hours=25)]


def test_an_hourly_rule_keeps_both_hours_of_the_autumn_change() -> None:
    rule = parse_rule("0 * * * *")
    times = next_fire_times(rule, datetime(2027, 10, 31, 1, 30, tzinfo=STOCKHOLM), 3)
    assert [t.astimezone(STOCKHOLM).isoformat() for t in times] == [
        "2027-10-31T02:00:00+02:00",
        "2027-10-31T02:00:00+01:00",
        "2027-10-31T03:00:00+01:00",
    ]


@pytest.mark.parametrize(
    ("rule", "says"),
    [
        ("", "a rule is needed"),
        ("vma", "unknown rule 'vma'; named rules: vma-quarterly"),
        ("0 15 * *", "has 4 fields; a cron rule has 5"),
        ("0 25 * * *", "25"),
        ("0 15 * * 8", "day of week 8"),
        ("0 15 * * 5-1", "runs backwards"),
    ],
)
def test_a_bad_rule_says_what_is_wrong(rule: str, says: str) -> None:
    with pytest.raises(RuleInvalid, match=None) as caught:
        parse_rule(rule)
    assert says in str(caught.value)


def test_schedules_next_prints_iso_times_with_offsets() -> None:
    result = runner.invoke(
        app,
        [
            "schedules",
            "next",
            "vma-quarterly",
            "--count",
            "4",
            "--after",
            "2027-01-01T00:00:00+01:00",
        ],
    )
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "2027-03-01T15:00:00+01:00",
        "2027-06-07T15:00:00+02:00",
        "2027-09-06T15:00:00+02:00",
        "2027-12-06T15:00:00+01:00",
    ]
    cron = runner.invoke(
        app, ["schedules", "next", "0 15 * * 1", "-n", "1", "--after", "2027-03-24T12:00:00+01:00"]
    )
    assert cron.output.splitlines() == ["2027-03-29T15:00:00+02:00"]


def test_schedules_next_names_every_problem_with_exit_2() -> None:
    result = runner.invoke(app, ["schedules", "next", "0 15 * *", "--count", "0"])
    assert result.exit_code == 2
    assert "--count: must be 1-1000" in result.output
    assert "RULE: '0 15 * *' has 4 fields" in result.output


def test_schedules_next_starts_from_the_service_clock_by_default() -> None:
    # The tests pin the clock at 2026-11-23 08:00 (+01:00): the next quarterly test is in December.
    result = runner.invoke(app, ["schedules", "next", "vma-quarterly", "-n", "1"])
    assert result.output.strip() == "2026-12-07T15:00:00+01:00"
