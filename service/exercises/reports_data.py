"""The figures of test and exercise reports, read from stored data only.

Everything here is a function of the database (and the content, for readability), so a report
can be rebuilt at any time and a web route only has to call these and render.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.delivery.models import Delivery, DeliveryStatus
from service.delivery.planning import UNREACHABLE_CHANNEL
from service.exercises.canaries import canary_id_of
from service.exercises.models import CanaryRecord, FiringRecord, ScheduleRecord
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord

REACHED = (DeliveryStatus.sent.value, DeliveryStatus.delivered.value)
PENDING = (DeliveryStatus.planned.value, DeliveryStatus.sending.value)


def aware(moment: datetime | None) -> datetime | None:
    """A stored time as aware UTC (SQLite hands back naive UTC)."""
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def last_firings(session: Session, schedule_ids: list[int]) -> dict[int, FiringRecord]:
    """Each schedule's most recent firing."""
    if not schedule_ids:
        return {}
    rows = session.scalars(
        sa.select(FiringRecord)
        .where(FiringRecord.schedule_id.in_(schedule_ids))
        .order_by(FiringRecord.fire_time)
    )
    return {f.schedule_id: f for f in rows}


def firings_of(
    session: Session, schedule_id: int, *, limit: int = 20
) -> list[tuple[FiringRecord, str | None]]:
    """A schedule's firings, newest first, with the code of the notice each published."""
    rows = session.execute(
        sa.select(FiringRecord, NoticeRecord.code)
        .outerjoin(NoticeRecord, NoticeRecord.id == FiringRecord.notice_id)
        .where(FiringRecord.schedule_id == schedule_id)
        .order_by(FiringRecord.fire_time.desc())
        .limit(limit)
    )
    return [(firing, code) for firing, code in rows]


def inject_outcomes(
    session: Session, run_id: int
) -> list[tuple[ScheduleRecord, FiringRecord | None, str | None]]:
    """A run's injects in script order, each with its firing and notice code (if any yet)."""
    rows = session.execute(
        sa.select(ScheduleRecord, FiringRecord, NoticeRecord.code)
        .outerjoin(FiringRecord, FiringRecord.schedule_id == ScheduleRecord.id)
        .outerjoin(NoticeRecord, NoticeRecord.id == FiringRecord.notice_id)
        .where(ScheduleRecord.run_id == run_id)
        .order_by(ScheduleRecord.offset_seconds, ScheduleRecord.id)
    )
    return [(schedule, firing, code) for schedule, firing, code in rows]


@dataclass
class ChannelStats:
    """Deliveries on one channel: counts, first and last, and time to delivery."""

    channel: str
    total: int = 0
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    cancelled: int = 0
    pending: int = 0
    first_at: datetime | None = None
    last_at: datetime | None = None
    seconds: list[float] = field(default_factory=list, repr=False)

    @property
    def reached(self) -> int:
        """Handed to the provider (sent) or confirmed (delivered)."""
        return self.sent + self.delivered

    @property
    def rate(self) -> float:
        """Share reached, 0-1."""
        return self.reached / self.total if self.total else 0.0

    def percentile(self, share: float) -> float | None:
        """Time to delivery at this share (0.5 median, 0.9), in seconds."""
        if not self.seconds:
            return None
        ordered = sorted(self.seconds)
        return ordered[min(len(ordered) - 1, int(share * len(ordered)))]

    @property
    def median(self) -> float | None:
        """Median time to delivery, seconds."""
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def slowest(self) -> float | None:
        """Longest time to delivery, seconds."""
        return max(self.seconds) if self.seconds else None

    def add(self, status: str, sent_at: datetime | None, published: datetime) -> None:
        """Count one delivery."""
        self.total += 1
        if status == DeliveryStatus.sent.value:
            self.sent += 1
        elif status == DeliveryStatus.delivered.value:
            self.delivered += 1
        elif status == DeliveryStatus.failed.value:
            self.failed += 1
        elif status == DeliveryStatus.cancelled.value:
            self.cancelled += 1
        else:
            self.pending += 1
        if status in REACHED and sent_at is not None:
            self.first_at = min(self.first_at or sent_at, sent_at)
            self.last_at = max(self.last_at or sent_at, sent_at)
            self.seconds.append(max(0.0, (sent_at - published).total_seconds()))


@dataclass(frozen=True)
class CanaryResult:
    """Whether one canary was reached by one notice."""

    canary_id: int
    label: str
    channel: str
    status: str
    reason: str | None

    @property
    def reached(self) -> bool:
        """Sent or delivered."""
        return self.status in REACHED


@dataclass(frozen=True)
class CanarySummary:
    """One canary across the notices of a report: reached how often, and why not."""

    label: str
    channel: str
    reached: int
    total: int
    reasons: tuple[str, ...]


@dataclass
class DeliveryFigures:
    """Every delivery figure of one or more notices (canaries counted apart from people)."""

    channels: dict[str, ChannelStats] = field(default_factory=dict)
    by_language: dict[str, ChannelStats] = field(default_factory=dict)
    by_audience: dict[str, ChannelStats] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    canaries: list[CanaryResult] = field(default_factory=list)
    unreachable: int = 0

    @property
    def canary_summary(self) -> list[CanarySummary]:
        """Each canary once: how many of the notices reached it, and the reasons it was not."""
        grouped: dict[int, list[CanaryResult]] = defaultdict(list)
        for result in self.canaries:
            grouped[result.canary_id].append(result)
        return [
            CanarySummary(
                group[0].label,
                group[0].channel,
                sum(r.reached for r in group),
                len(group),
                tuple(dict.fromkeys(r.reason or r.status for r in group if not r.reached)),
            )
            for _id, group in sorted(grouped.items())
        ]

    @property
    def total(self) -> ChannelStats:
        """All channels together."""
        whole = ChannelStats("all")
        for stats in self.channels.values():
            for name in ("total", "sent", "delivered", "failed", "cancelled", "pending"):
                setattr(whole, name, getattr(whole, name) + getattr(stats, name))
            whole.seconds += stats.seconds
            for moment in (stats.first_at, stats.last_at):
                if moment is not None:
                    whole.first_at = min(whole.first_at or moment, moment)
                    whole.last_at = max(whole.last_at or moment, moment)
        return whole


def delivery_figures(session: Session, notice_ids: list[int]) -> DeliveryFigures:
    """Counts, times and failures of the notices' deliveries, people and canaries apart."""
    figures = DeliveryFigures()
    if not notice_ids:
        return figures
    published = {
        notice_id: aware(created)
        for notice_id, created in session.execute(
            sa.select(NoticeRecord.id, NoticeRecord.created_at).where(
                NoticeRecord.id.in_(notice_ids)
            )
        )
    }
    labels = {c.id: c.label for c in session.scalars(sa.select(CanaryRecord))}
    rows = session.execute(
        sa.select(
            Delivery.notice_id,
            Delivery.recipient_key,
            Delivery.channel,
            Delivery.language,
            Delivery.audience,
            Delivery.status,
            Delivery.sent_at,
            Delivery.last_error,
        )
        .where(Delivery.notice_id.in_(notice_ids))
        .order_by(Delivery.id)
        .execution_options(yield_per=2000)
    )
    for notice_id, key, channel, language, audience, status, sent_at, error in rows:
        start = published[notice_id] or datetime.min.replace(tzinfo=UTC)
        canary = canary_id_of(key)
        if canary is not None:
            label = labels.get(canary, key)
            figures.canaries.append(CanaryResult(canary, label, channel, status, error))
            continue
        if channel == UNREACHABLE_CHANNEL:
            figures.unreachable += 1
        for group, name in (
            (figures.channels, channel),
            (figures.by_language, language),
            (figures.by_audience, audience),
        ):
            group.setdefault(name, ChannelStats(name)).add(status, aware(sent_at), start)
        if status == DeliveryStatus.failed.value:
            figures.failures[channel, _reason(error)] += 1
    return figures


def _reason(error: str | None) -> str:
    """A failure reason without the per-message detail, so equal causes group together."""
    text = (error or "failed").split("; ")[0]
    return text[:200]


@dataclass(frozen=True)
class RecentMiss:
    """Someone (or a canary) not reached in some of the recent tests."""

    name: str
    missed: int
    tests: int  # of the notices considered, how many tried to reach them
    last_reason: str


def not_reached_across(session: Session, notice_ids: list[int]) -> list[RecentMiss]:
    """People and canaries every delivery of whom failed, per notice, counted across notices."""
    if not notice_ids:
        return []
    failed = DeliveryStatus.failed.value
    rows = session.execute(
        sa.select(
            Delivery.notice_id,
            Delivery.recipient_key,
            sa.func.count(),
            sa.func.sum(sa.case((Delivery.status == failed, 1), else_=0)),
            sa.func.max(Delivery.recipient_id),
            sa.func.max(Delivery.last_error),
        )
        .where(Delivery.notice_id.in_(notice_ids))
        .group_by(Delivery.notice_id, Delivery.recipient_key)
    ).all()
    tried: dict[str, int] = defaultdict(int)
    missed: dict[str, int] = defaultdict(int)
    reasons: dict[str, str] = {}
    people: dict[str, int | None] = {}
    for _notice, key, count, failures, recipient_id, error in rows:
        tried[key] += 1
        people[key] = people.get(key) or recipient_id
        if count == failures:
            missed[key] += 1
            reasons[key] = _reason(error)
    names = {
        r.id: r.name
        for r in session.scalars(
            sa.select(RecipientRecord).where(
                RecipientRecord.id.in_([i for i in people.values() if i is not None])
            )
        )
    }
    labels = {c.id: c.label for c in session.scalars(sa.select(CanaryRecord))}
    result = []
    for key, count in missed.items():
        canary = canary_id_of(key)
        recipient = people.get(key)
        if canary is not None:
            name = f"test recipient: {labels.get(canary, key)}"
        else:
            name = names.get(recipient or 0, "(deleted from the register)")
        result.append(RecentMiss(name, count, tried[key], reasons[key]))
    return sorted(result, key=lambda m: (-m.missed, m.name.casefold()))


def recent_tests(session: Session, notice: NoticeRecord, count: int) -> list[int]:
    """The ids of the last `count` notices of the same mode, up to and including this one."""
    rows = session.scalars(
        sa.select(NoticeRecord.id)
        .where(NoticeRecord.mode == notice.mode, NoticeRecord.id <= notice.id)
        .order_by(NoticeRecord.id.desc())
        .limit(count)
    )
    return list(rows)
