"""Tracking a notice's deliveries: progress, the people not reached, history and the report.

The list of people not reached and the report are for staff (follow-up phone calls), so they
carry names and contact details; nothing here logs them.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.channels.base import mask_address
from service.clock import as_utc
from service.delivery.circuits import read_circuits, waiting_text
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery, DeliveryStatus
from service.delivery.planning import UNREACHABLE_CHANNEL
from service.exercises.canaries import CANARY_PREFIX
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord

STATUSES = tuple(s.value for s in DeliveryStatus)
OPEN = (DeliveryStatus.planned.value, DeliveryStatus.sending.value)


def _counts() -> dict[str, int]:
    return dict.fromkeys(STATUSES, 0)


@dataclass
class Progress:
    """Deliveries per status: overall and by channel, language and audience."""

    notice_id: int
    overall: dict[str, int] = field(default_factory=_counts)
    by_channel: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_counts))
    by_language: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_counts))
    by_audience: dict[str, dict[str, int]] = field(default_factory=lambda: defaultdict(_counts))
    unreachable: int = 0  # people no channel could reach (counted as failed, channel "none")
    # Deliveries a worker took over after another's lease expired mid-send, whatever their
    # status now: the first worker may have handed the message over without recording it.
    possible_duplicates: int = 0
    # Channels whose provider is failing while deliveries of this notice wait for it: since when
    # (service.delivery.circuits), e.g. "waiting for the SMS provider since 03:12".
    waiting: dict[str, datetime] = field(default_factory=dict)
    # Whether planning has finished (the notice's planned_at). Right after a send nothing is
    # planned yet: 0 deliveries then means "not started", not "all done".
    planned: bool = True

    def waiting_lines(self, timezone: str) -> list[str]:
        """'waiting for the SMS provider since 03:12', one per channel waiting, in local time."""
        return [waiting_text(c, since, timezone) for c, since in sorted(self.waiting.items())]

    @property
    def total(self) -> int:
        """Every delivery row, unreachable people included."""
        return sum(self.overall.values())

    @property
    def done(self) -> bool:
        """Whether planning is over and nothing is waiting or in flight (every delivery final)."""
        if not self.planned and self.total == 0:
            return False
        return all(self.overall[s] == 0 for s in OPEN)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, with a `total` in every group."""

        def group(values: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
            return {k: {**v, "total": sum(v.values())} for k, v in sorted(values.items())}

        return {
            "total": self.total,
            "done": self.done,
            "unreachable": self.unreachable,
            "possible_duplicates": self.possible_duplicates,
            "waiting": {c: as_utc(t).isoformat() for c, t in sorted(self.waiting.items())},
            "overall": {**self.overall, "total": self.total},
            "by_channel": group(self.by_channel),
            "by_language": group(self.by_language),
            "by_audience": group(self.by_audience),
        }


def progress(session: Session, notice_id: int) -> Progress:
    """Counts for one notice, in one grouped query (cheap enough to poll every second)."""
    planned_at = session.scalar(
        sa.select(NoticeRecord.planned_at).where(NoticeRecord.id == notice_id)
    )
    result = Progress(notice_id, planned=planned_at is not None)
    marked = Delivery.last_error.startswith(POSSIBLE_DUPLICATE, autoescape=True)
    rows = session.execute(
        sa.select(
            Delivery.channel,
            Delivery.language,
            Delivery.audience,
            Delivery.status,
            sa.func.count(),
            sa.func.sum(sa.case((marked, 1), else_=0)),
        )
        .where(Delivery.notice_id == notice_id)
        .group_by(Delivery.channel, Delivery.language, Delivery.audience, Delivery.status)
    )
    for channel, language, audience, status, count, duplicates in rows:
        result.overall[status] = result.overall.get(status, 0) + count
        result.possible_duplicates += int(duplicates or 0)
        for group, key in (
            (result.by_channel, channel),
            (result.by_language, language),
            (result.by_audience, audience),
        ):
            group[key][status] = group[key].get(status, 0) + count
        if channel == UNREACHABLE_CHANNEL:
            result.unreachable += count
    result.by_channel = dict(result.by_channel)
    result.by_language = dict(result.by_language)
    result.by_audience = dict(result.by_audience)
    for channel, circuit in read_circuits(session).items():
        counts = result.by_channel.get(channel, {})
        if circuit.since is not None and counts.get(DeliveryStatus.planned.value):
            result.waiting[channel] = as_utc(circuit.since)
    return result


@dataclass(frozen=True)
class NotReached:
    """Someone to phone: every delivery failed, or no channel could reach them."""

    recipient_id: int | None  # None after a GDPR deletion
    name: str
    phone: str | None
    email: str | None
    language: str
    audience: str
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (for staff: it holds contact details)."""
        return {
            "recipient_id": self.recipient_id,
            "name": self.name,
            "phone": self.phone,
            "email": self.email,
            "language": self.language,
            "audience": self.audience,
            "reason": self.reason,
        }


def not_reached(session: Session, notice_id: int) -> list[NotReached]:
    """People whose every delivery of this notice failed (the unreachable included), by name."""
    failed = DeliveryStatus.failed.value
    all_failed = (
        sa.select(Delivery.recipient_key)
        .where(Delivery.notice_id == notice_id)
        .group_by(Delivery.recipient_key)
        .having(sa.func.count() == sa.func.sum(sa.case((Delivery.status == failed, 1), else_=0)))
    )
    rows = session.execute(
        sa.select(Delivery, RecipientRecord.name, RecipientRecord.phone, RecipientRecord.email)
        .outerjoin(RecipientRecord, RecipientRecord.id == Delivery.recipient_id)
        .where(Delivery.notice_id == notice_id, Delivery.recipient_key.in_(all_failed))
        .order_by(Delivery.recipient_key, Delivery.id)
    ).all()
    people: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        people[row[0].recipient_key].append(row)
    result = []
    for group in people.values():
        first, name, phone, email = group[0]
        # After a GDPR deletion the register row is gone; the deliveries may still hold addresses.
        by_channel = {d.channel: d.address for d, *_ in group if d.address}
        reasons = [
            (d.last_error or "failed") if d.channel == UNREACHABLE_CHANNEL else _reason(d)
            for d, *_ in group
        ]
        result.append(
            NotReached(
                recipient_id=first.recipient_id,
                name=name or _nameless(first.recipient_key),
                phone=phone or by_channel.get("sms"),
                email=email or by_channel.get("email"),
                language=first.language,
                audience=first.audience,
                reason="; ".join(reasons),
            )
        )
    return sorted(result, key=lambda p: (p.name.casefold(), p.recipient_id or 0))


def _nameless(recipient_key: str) -> str:
    """What to call a delivery with no register row: a canary, or a person since deleted."""
    if recipient_key.startswith(CANARY_PREFIX):
        return f"test recipient ({recipient_key})"
    return "(deleted from the register)"


def _reason(delivery: Delivery) -> str:
    return f"{delivery.channel}: {delivery.last_error or 'failed'}"


@dataclass(frozen=True)
class HistoryEntry:
    """One delivery to a recipient, with the notice it carried."""

    delivery_id: int
    notice_code: str
    scenario: str
    mode: str
    channel: str
    status: str
    attempts: int
    language: str
    register: str
    audience: str
    error: str | None
    created_at: datetime
    sent_at: datetime | None
    updated_at: datetime


def recipient_history(session: Session, recipient_id: int) -> list[HistoryEntry]:
    """Every delivery to one recipient, newest first."""
    rows = session.execute(
        sa.select(Delivery, NoticeRecord.code, NoticeRecord.scenario, NoticeRecord.mode)
        .join(NoticeRecord, NoticeRecord.id == Delivery.notice_id)
        .where(Delivery.recipient_id == recipient_id)
        .order_by(Delivery.created_at.desc(), Delivery.id.desc())
    )
    return [
        HistoryEntry(
            d.id,
            code,
            scenario,
            mode,
            d.channel,
            d.status,
            d.attempts,
            d.language,
            d.register,
            d.audience,
            d.last_error,
            d.created_at,
            d.sent_at,
            d.updated_at,
        )
        for d, code, scenario, mode in rows
    ]


REPORT_COLUMNS = (
    "delivery_id",
    "name",
    "channel",
    "address",
    "language",
    "register",
    "role",
    "audience",
    "status",
    "attempts",
    "error",
    "created_at",
    "sent_at",
    "updated_at",
    "fallback_of",
)


def _cell(value: object, zone: ZoneInfo) -> str:
    """A CSV cell; times in local time, and nothing Excel would run as a formula."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        # SQLite hands back naive datetimes; every stored time is UTC.
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value)
    # CSV injection: a cell starting like a formula is prefixed with an apostrophe (OWASP).
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def report_csv(session: Session, notice_id: int, *, timezone: str = "Europe/Stockholm") -> bytes:
    """Every delivery of a notice as CSV for Swedish Excel (UTF-8 with BOM, `;`).

    Names are shown and addresses masked: the report documents what happened; the not-reached
    list is where staff get full contact details.
    """
    zone = ZoneInfo(timezone)
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(REPORT_COLUMNS)
    rows = session.execute(
        sa.select(Delivery, RecipientRecord.name)
        .outerjoin(RecipientRecord, RecipientRecord.id == Delivery.recipient_id)
        .where(Delivery.notice_id == notice_id)
        .order_by(Delivery.id)
        .execution_options(yield_per=2000)
    )
    for d, name in rows:
        values = (
            d.id,
            name or "",
            d.channel,
            mask_address(d.address) if d.address else "",
            d.language,
            d.register,
            d.role,
            d.audience,
            d.status,
            d.attempts,
            d.last_error,
            d.created_at,
            d.sent_at,
            d.updated_at,
            d.fallback_of_id,
        )
        writer.writerow([_cell(v, zone) for v in values])
    return "\ufeff".encode() + out.getvalue().encode("utf-8")
