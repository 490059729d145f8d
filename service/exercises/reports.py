"""Reports per test broadcast and per exercise: timeline, delivery, canaries, readability, trend.

Built from stored data only (notices, firings, deliveries, canaries), so they are the same
whenever they are made; report_render turns them into HTML with SVG charts, CSV and PDF.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.config import Settings
from service.content import ContentLibrary
from service.exercises.models import (
    ExerciseRunRecord,
    FiringRecord,
    FiringStatus,
    ScheduleRecord,
)
from service.exercises.reports_data import (
    DeliveryFigures,
    RecentMiss,
    aware,
    delivery_figures,
    inject_outcomes,
    not_reached_across,
    recent_tests,
)
from service.notices.links import notice_url
from service.notices.models import NoticeRecord
from service.notices.publish import load_stored_notice
from service.variants.service import render_notice

LATE_SECONDS = 60.0


@dataclass(frozen=True)
class Event:
    """One line of a timeline: when, what kind of event (see KINDS), and a detail."""

    at: datetime | None
    kind: str
    detail: str = ""


# The kinds of timeline event, in the order they happen.
KINDS = ("scheduled", "drafted", "approval", "fire_time", "handled", "published", "first", "last")


@dataclass(frozen=True)
class ReadabilityRow:
    """One variant check of the notice as it was sent."""

    audience: str
    language: str
    variant: str
    passed: bool
    lix: float | None
    problems: str


@dataclass
class BroadcastReport:
    """One fire time of a schedule (or one inject, or a notice sent by hand)."""

    title: str
    mode: str
    schedule: str | None = None
    fire_time: datetime | None = None
    status: str = FiringStatus.sent.value
    late_seconds: float = 0.0
    reason: str | None = None
    code: str | None = None
    scenario: str | None = None
    message_type: str | None = None
    languages: list[str] = field(default_factory=list)
    audiences: list[str] = field(default_factory=list)
    timeline: list[Event] = field(default_factory=list)
    figures: DeliveryFigures = field(default_factory=DeliveryFigures)
    readability: list[ReadabilityRow] = field(default_factory=list)
    recent_misses: list[RecentMiss] = field(default_factory=list)
    recent_count: int = 0

    @property
    def late(self) -> bool:
        """Sent later than on time (the misfire policy let it run within the grace time)."""
        return self.status == FiringStatus.sent.value and self.late_seconds > LATE_SECONDS

    @property
    def canary_alerts(self) -> list[tuple[str, str]]:
        """(canary, why) for each canary this test did not reach (neither sent nor delivered)."""
        return [
            (f"{c.label} ({c.channel})", c.reason or c.status)
            for c in self.figures.canaries
            if not c.reached and c.status not in ("planned", "sending")
        ]


def _timeline(
    schedule: ScheduleRecord | None,
    firing: FiringRecord | None,
    notice: NoticeRecord | None,
    figures: DeliveryFigures,
) -> list[Event]:
    events = []
    if schedule is not None:
        events.append(Event(aware(schedule.created_at), "scheduled", schedule.created_by))
    elif notice is not None:
        events.append(Event(aware(notice.created_at), "drafted", notice.created_by))
    # Exercise and test notices need no second approver; four-eyes approval of actual alerts
    # comes with the web app.
    events.append(Event(None, "approval"))
    if firing is not None:
        events.append(Event(aware(firing.fire_time), "fire_time"))
        events.append(Event(aware(firing.handled_at), "handled", firing.status))
    if notice is not None:
        events.append(Event(aware(notice.created_at), "published", notice.code))
    for channel, stats in sorted(figures.channels.items()):
        if stats.first_at is not None:
            events.append(Event(stats.first_at, "first", channel))
            events.append(Event(stats.last_at, "last", channel))
    return sorted(events, key=lambda e: (e.at is None, e.at or datetime.min))


def _readability(
    notice: NoticeRecord, library: ContentLibrary, settings: Settings
) -> list[ReadabilityRow]:
    checked = render_notice(
        load_stored_notice(notice, library), library, public_url=notice_url(settings, notice.code)
    )
    rows = []
    for check in checked.checks:
        key = check.variant.key
        errors = "; ".join(f.message for f in check.findings if f.severity == "error")
        rows.append(
            ReadabilityRow(
                check.audience.id,
                key.language,
                key.name,
                check.passed,
                check.readability.metrics.lix if check.readability else None,
                errors,
            )
        )
    return rows


def broadcast_report(
    session: Session,
    library: ContentLibrary,
    settings: Settings,
    *,
    firing: FiringRecord | None = None,
    notice: NoticeRecord | None = None,
    readability: bool = True,
) -> BroadcastReport:
    """The report of one firing (sent, missed or failed) or one published notice."""
    if firing is not None and notice is None and firing.notice_id is not None:
        notice = session.get(NoticeRecord, firing.notice_id)
    if firing is None and notice is not None:
        firing = session.scalar(sa.select(FiringRecord).where(FiringRecord.notice_id == notice.id))
    schedule = session.get(ScheduleRecord, firing.schedule_id) if firing else None
    figures = delivery_figures(session, [notice.id] if notice else [])
    title = schedule.name if schedule else (notice.code if notice else "?")
    report = BroadcastReport(
        title=title,
        mode=notice.mode if notice else str((schedule.payload if schedule else {}).get("mode")),
        schedule=schedule.name if schedule else None,
        fire_time=aware(firing.fire_time) if firing else None,
        status=firing.status if firing else FiringStatus.sent.value,
        late_seconds=firing.late_seconds if firing else 0.0,
        reason=firing.reason if firing else None,
        timeline=_timeline(schedule, firing, notice, figures),
        figures=figures,
    )
    if notice is not None:
        payload = notice.payload
        report.code, report.scenario = notice.code, notice.scenario
        report.message_type = notice.message_type
        report.languages = list(payload.get("languages", []))
        report.audiences = list(payload.get("audiences", []))
        if readability:
            report.readability = _readability(notice, library, settings)
        recent = recent_tests(session, notice, settings.report_recent_tests)
        report.recent_misses = not_reached_across(session, recent)
        report.recent_count = len(recent)
    return report


@dataclass
class ExerciseReport:
    """One run of an exercise script: every inject's report and the figures of all of them."""

    run: ExerciseRunRecord
    injects: list[tuple[ScheduleRecord, BroadcastReport | None]]
    figures: DeliveryFigures
    misses: list[RecentMiss]


def exercise_report(
    session: Session,
    library: ContentLibrary,
    settings: Settings,
    run: ExerciseRunRecord,
    *,
    readability: bool = True,
) -> ExerciseReport:
    """The report of an exercise run, with each inject as a broadcast report."""
    injects: list[tuple[ScheduleRecord, BroadcastReport | None]] = []
    notice_ids = []
    for schedule, firing, _code in inject_outcomes(session, run.id):
        report = None
        if firing is not None:
            report = broadcast_report(
                session, library, settings, firing=firing, readability=readability
            )
            report.title = f"{schedule.inject_key}"
            if firing.notice_id is not None:
                notice_ids.append(firing.notice_id)
        injects.append((schedule, report))
    return ExerciseReport(
        run, injects, delivery_figures(session, notice_ids), not_reached_across(session, notice_ids)
    )


@dataclass(frozen=True)
class QuarterTrend:
    """The scheduled tests of one quarter."""

    quarter: str
    tests: int
    missed: int
    late: int
    total: int
    reached: int
    median_seconds: float | None
    canaries: int
    canaries_reached: int

    @property
    def rate(self) -> float:
        """Share of deliveries reached."""
        return self.reached / self.total if self.total else 0.0


def quarterly_trend(session: Session, timezone: str, *, mode: str = "test") -> list[QuarterTrend]:
    """Every quarter with scheduled firings of `mode` notices: sent, missed, late, reached."""
    zone = ZoneInfo(timezone)

    def quarter(moment: datetime) -> str:
        local = moment.astimezone(zone)
        return f"{local.year} Q{(local.month - 1) // 3 + 1}"

    rows = session.execute(
        sa.select(FiringRecord, ScheduleRecord.payload)
        .join(ScheduleRecord, ScheduleRecord.id == FiringRecord.schedule_id)
        .where(ScheduleRecord.run_id.is_(None))
        .order_by(FiringRecord.fire_time)
    ).all()
    firings: dict[str, list[FiringRecord]] = defaultdict(list)
    for firing, payload in rows:
        if payload.get("mode") == mode:
            firings[quarter(aware(firing.fire_time) or datetime.min)].append(firing)
    trend = []
    for name, group in firings.items():
        notice_ids = [f.notice_id for f in group if f.notice_id is not None]
        figures = delivery_figures(session, notice_ids)
        whole = figures.total
        trend.append(
            QuarterTrend(
                name,
                tests=len(notice_ids),
                missed=sum(f.status == FiringStatus.missed.value for f in group),
                late=sum(
                    f.status == FiringStatus.sent.value and f.late_seconds > LATE_SECONDS
                    for f in group
                ),
                total=whole.total,
                reached=whole.reached,
                median_seconds=statistics.median(whole.seconds) if whole.seconds else None,
                canaries=len(figures.canaries),
                canaries_reached=sum(c.reached for c in figures.canaries),
            )
        )
    return sorted(trend, key=lambda t: t.quarter)


def latest_test_firing(session: Session) -> FiringRecord | None:
    """The most recent fire time of a scheduled test (exercise injects are not tests)."""
    return session.scalar(
        sa.select(FiringRecord)
        .join(ScheduleRecord, ScheduleRecord.id == FiringRecord.schedule_id)
        .where(ScheduleRecord.run_id.is_(None))
        .order_by(FiringRecord.fire_time.desc(), FiringRecord.id.desc())
        .limit(1)
    )


def latest_test_alerts(
    session: Session, library: ContentLibrary, settings: Settings
) -> list[tuple[str, str]]:
    """The start page's alerts (Swedish, reason in English): missed canaries or a missed test."""
    firing = latest_test_firing(session)
    if firing is None:
        return []
    report = broadcast_report(session, library, settings, firing=firing, readability=False)
    when = report.fire_time.astimezone(ZoneInfo(settings.timezone)) if report.fire_time else None
    shown = when.strftime("%Y-%m-%d %H.%M") if when else ""
    if report.status in (FiringStatus.missed.value, FiringStatus.failed.value):
        return [(f"Provsändningen {report.schedule} {shown} skickades inte", report.reason or "")]
    return [
        (f"Provsändningen {report.schedule} {shown} nådde inte testmottagaren {canary}", why)
        for canary, why in report.canary_alerts
    ]
