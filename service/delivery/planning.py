"""Planning a notice's deliveries into the outbox, and previewing the plan first.

Who is reached: active recipients in the notice's areas (nested areas included) with at least one
of the notice's audiences; exercise and test notices reach only the exercise group. The profile
that decides a recipient's variant is chosen among the audiences the notice was written and
checked for, so nobody is sent a version the communicator never saw; the preview counts the
audiences it leaves out (`left_out`), so a missing easy-read version shows before sending.

Channels: each person gets ONE message, on the first channel in their profile's priority order
that the notice uses and that they have an address for. The later channels in that order are the
fallback: the dispatcher plans the next one only after the first fails permanently (SMS, then
e-mail, then the printed-notice list for staff). Planning every channel at once would make
fallback meaningless and send most people two copies. "One message per person per channel"
is the invariant that uq_deliveries_once enforces: a person on several lists (audiences, groups,
areas) is still one register row and one delivery, and two register rows sharing a phone number
or e-mail address get one message (the lower id wins).

Exercise and test notices also reach every active canary (service.exercises.canaries: the
municipality's own duty phones and mailboxes) on its channel, so each test proves each channel.

People no message can reach get a row too, on the pseudo-channel `none`, status `failed`, with
the reason in `last_error` (worded like the dispatcher's NOT_REACHED), so tracking lists them
for the follow-up phone calls.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audiences.schemas import AudienceProfile
from service.channels.sms.encoding import analyse_sms
from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.bulk_insert import insert_deliveries
from service.delivery.cancel import cancel_deliveries
from service.delivery.choose import (
    Assignment,
    Unreachable,
    assign,
    choose_language,
    deciding_profile,
)
from service.delivery.fallback import NOT_REACHED
from service.delivery.models import Delivery, DeliveryStatus
from service.exercises.canaries import CanaryPlan, canary_key, plan_canaries
from service.notices.links import variant_url
from service.notices.models import NoticeRecord
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.recipients.areas import AreaMap
from service.recipients.schemas import Recipient
from service.recipients.service import recipient_keys, select_recipients
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant

logger = logging.getLogger(__name__)

UNREACHABLE_CHANNEL = "none"
BATCH_SIZE = 1000
# The first batch is small: it is what the first messages wait for (about 0.1 s less at 1,000).
FIRST_BATCH_SIZE = 100
# A batch is committed after this long even when not full, so the first messages can leave
# within a second however slowly the register is read.
BATCH_MAX_SECONDS = 0.5


@dataclass(frozen=True)
class Planned:
    """One recipient's outcome: the first-choice message, or why nobody can be reached."""

    recipient_id: int
    recipient: Recipient
    assignment: Assignment | None
    unreachable: Unreachable | None
    fallbacks: int  # later channels kept for fallback
    profile: AudienceProfile  # the deciding profile
    language: str
    left_out: tuple[str, ...] = ()  # their audiences that the notice does not include


@dataclass
class PlanPreview:
    """What planning would insert, before anything is written."""

    recipients: int = 0
    messages: int = 0
    by_channel: Counter[str] = field(default_factory=Counter)
    by_language: Counter[str] = field(default_factory=Counter)
    by_audience: Counter[str] = field(default_factory=Counter)
    by_variant: Counter[VariantKey] = field(default_factory=Counter)
    unreachable: list[Unreachable] = field(default_factory=list)
    with_fallback: int = 0  # messages with a later channel to fall back on
    merged_duplicates: int = 0  # register rows sharing an address with an earlier one
    left_out: Counter[str] = field(default_factory=Counter)  # audiences the notice leaves out
    sms_segments: int = 0
    cost_sek: float = 0.0
    canaries: list[CanaryPlan] = field(default_factory=list)  # exercise and test notices only


@dataclass
class PlanSummary:
    """What one planning run did."""

    notice_id: int
    recipients: int = 0
    inserted: int = 0
    already_planned: int = 0  # rows a previous run had inserted (re-planning is idempotent)
    unreachable: int = 0
    merged_duplicates: int = 0
    canaries: int = 0  # test recipients planned (exercise and test notices)
    batches: int = 0
    cancelled: bool = False  # the notice's sending was cancelled: planning stopped
    first_batch_seconds: float | None = None
    seconds: float = 0.0


@dataclass(frozen=True)
class _Choice:
    """What assign() decides for one combination of audiences, languages and kinds of address.

    Worked out once per combination (a register has few), not once per person.
    """

    profile: AudienceProfile
    language: str
    routes: tuple[tuple[Channel, AudienceProfile, VariantKey], ...]  # first choice, fallbacks
    reason: str | None  # why nobody can be reached, when there is no route


def _choose(recipient: Recipient, notice: Notice, library: ContentLibrary) -> _Choice:
    assignments, problem = assign(recipient, notice, library)
    if not assignments:
        profile = deciding_profile(recipient, library)
        language = choose_language(recipient, profile, notice)
        return _Choice(profile, language, (), problem.reason if problem else None)
    first = assignments[0]
    routes = tuple((a.channel, a.audience, a.key) for a in assignments)
    return _Choice(first.audience, first.key.language, routes, None)


def plan_recipients(
    session: Session, notice: Notice, library: ContentLibrary, areas: AreaMap
) -> Iterator[Planned | None]:
    """Each reached recipient's plan, streamed; None for a row merged into an earlier one."""
    envelope = notice.envelope
    wanted = set(envelope.audiences)
    seen: set[tuple[str, str]] = set()
    choices: dict[tuple[Any, ...], _Choice] = {}
    reached = select_recipients(
        session, envelope.areas, envelope.mode, areas, audiences=envelope.audiences
    )
    for recipient_id, recipient in reached:
        theirs = tuple(a for a in recipient.audiences if a in wanted)
        if not theirs:
            continue
        left_out = tuple(a for a in recipient.audiences if a not in wanted)
        if left_out:
            recipient = replace(recipient, audiences=theirs)
        # assign() depends only on these (and the notice): the same key, the same choice.
        key = (theirs, recipient.languages, bool(recipient.phone), bool(recipient.email))
        choice = choices.get(key)
        if choice is None:
            choice = choices[key] = _choose(recipient, notice, library)
        if not choice.routes:
            problem = Unreachable(recipient, cast(str, choice.reason))
            yield Planned(
                recipient_id, recipient, None, problem, 0, choice.profile, choice.language, left_out
            )
            continue
        channel, profile, variant = choice.routes[0]
        address = cast(str, recipient.phone if channel == Channel.sms else recipient.email)
        address_key = (channel.value, address.strip().lower())
        if address_key in seen:
            yield None
            continue
        seen.add(address_key)
        first = Assignment(recipient, channel, address, profile, variant)
        fallbacks = len(choice.routes) - 1
        yield Planned(
            recipient_id, recipient, first, None, fallbacks, profile, choice.language, left_out
        )


def preview_plan(
    session: Session,
    notice: Notice,
    library: ContentLibrary,
    areas: AreaMap,
    settings: Settings,
    *,
    public_url: str,
) -> PlanPreview:
    """Counts, unreachable people, SMS segments and cost of planning `notice`; writes nothing.

    `public_url` is the page the notice will be published at, so SMS sizes are the real ones.
    """
    preview = PlanPreview()
    for planned in plan_recipients(session, notice, library, areas):
        tally(preview, planned)
    preview.canaries = plan_canaries(session, notice, library)
    return finish_preview(preview, notice, library, settings, public_url=public_url)


def tally(preview: PlanPreview, planned: Planned | None) -> None:
    """Count one planned recipient (None: merged into an earlier one) into `preview`."""
    if planned is None:
        preview.merged_duplicates += 1
        return
    preview.recipients += 1
    preview.left_out.update(planned.left_out)
    if planned.unreachable is not None:
        preview.unreachable.append(planned.unreachable)
        return
    a = cast(Assignment, planned.assignment)
    preview.messages += 1
    preview.by_channel[a.channel.value] += 1
    preview.by_language[a.key.language] += 1
    preview.by_audience[a.audience.id] += 1
    preview.by_variant[a.key] += 1
    preview.with_fallback += planned.fallbacks > 0


def finish_preview(
    preview: PlanPreview,
    notice: Notice,
    library: ContentLibrary,
    settings: Settings,
    *,
    public_url: str,
) -> PlanPreview:
    """Add SMS segments and cost to the counts: each SMS variant rendered once, with its link."""
    preview.sms_segments = 0
    for key, count in preview.by_variant.items():
        if key.channel == Channel.sms:
            url = variant_url(public_url, key)
            text = render_variant(notice, key, library, public_url=url).text
            preview.sms_segments += analyse_sms(text).segments * count
    preview.cost_sek = preview.sms_segments * settings.sms_price_per_segment_sek
    return preview


def _row(
    notice_id: int, planned: Planned, keys: Callable[[int], str], now: datetime
) -> dict[str, Any]:
    """The deliveries row for one planned recipient (a Core insert: every key in every row)."""
    a, problem = planned.assignment, planned.unreachable
    return {
        "notice_id": notice_id,
        "recipient_id": planned.recipient_id,
        "recipient_key": keys(planned.recipient_id),
        "channel": a.channel.value if a else UNREACHABLE_CHANNEL,
        "address": a.address if a else None,
        "language": planned.language,
        "register": planned.profile.text_register.value,
        "role": planned.profile.role.value,
        "audience": planned.profile.id,
        "status": (DeliveryStatus.planned if a else DeliveryStatus.failed).value,
        # Worded as the dispatcher words people it could not reach (one not-reached list).
        "last_error": f"{NOT_REACHED}: {problem.reason}" if problem else None,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def _canary_row(notice_id: int, canary: CanaryPlan, now: datetime) -> dict[str, Any]:
    """The deliveries row for one canary; a canary whose channel is not used fails at once."""
    return {
        "notice_id": notice_id,
        "recipient_id": None,
        "recipient_key": canary_key(canary.canary_id),
        "channel": canary.channel,
        "address": canary.address,
        "language": canary.language,
        "register": canary.register,
        "role": canary.role,
        "audience": canary.audience,
        "status": (DeliveryStatus.failed if canary.problem else DeliveryStatus.planned).value,
        "last_error": canary.problem,
        "attempts": 0,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
    }


def plan_deliveries(
    session_factory: Callable[[], Session],
    notice_record: NoticeRecord,
    notice: Notice,
    library: ContentLibrary,
    areas: AreaMap,
    settings: Settings,
    *,
    actor: str = "system",
    source: str = "planner",
    batch_size: int = BATCH_SIZE,
    batch_seconds: float = BATCH_MAX_SECONDS,
    preview: PlanPreview | None = None,
) -> PlanSummary:
    """Insert the notice's deliveries in committed batches, so workers start on the first.

    Idempotent: a row that exists (same notice, recipient and channel) is left alone, so
    planning again after a crash completes the plan without duplicating anything. Given a
    `preview`, the same pass counts into it (finish it with finish_preview), so a caller that
    shows the plan never reads the register twice.
    """
    from service.audit.service import record

    started = time.perf_counter()
    summary = PlanSummary(notice_id=notice_record.id)
    keys = recipient_keys(settings.secret_key)

    def write(rows: list[dict[str, Any]]) -> None:
        with session_factory() as writer, writer.begin():
            # A cancel stops planning too: no new row may go out after it.
            if _cancelled(writer, notice_record.id):
                summary.cancelled = True
                return
            inserted = insert_deliveries(writer, rows)
        summary.inserted += inserted
        summary.already_planned += len(rows) - inserted
        summary.batches += 1
        if summary.first_batch_seconds is None:
            summary.first_batch_seconds = time.perf_counter() - started

    # On PostgreSQL one batch is written in a thread while the next is read and planned, so
    # the server's round trips overlap our Python work; at most one batch is in flight, so
    # batches commit in order and an error stops the run. SQLite runs in-process and has no
    # waiting to hide: there a thread only adds GIL contention.
    with ThreadPoolExecutor(1, "planning-writer") as pool, session_factory() as reader:
        overlap = reader.get_bind().dialect.name != "sqlite"
        pending: Future[None] | None = None
        batch: list[dict[str, Any]] = []
        batch_started, now = time.perf_counter(), utcnow()
        for planned in plan_recipients(reader, notice, library, areas):
            if preview is not None:
                tally(preview, planned)
            if planned is None:
                summary.merged_duplicates += 1
                continue
            summary.recipients += 1
            summary.unreachable += planned.unreachable is not None
            batch.append(_row(notice_record.id, planned, keys, now))
            limit = batch_size if summary.batches or pending else min(batch_size, FIRST_BATCH_SIZE)
            if len(batch) >= limit or time.perf_counter() - batch_started >= batch_seconds:
                if pending is not None:
                    pending.result()
                if summary.cancelled:
                    break
                if overlap:
                    pending = pool.submit(write, batch)
                else:
                    write(batch)
                batch, batch_started, now = [], time.perf_counter(), utcnow()
        if pending is not None:
            pending.result()
        canaries = plan_canaries(reader, notice, library)
        if preview is not None:
            preview.canaries = canaries
        for canary in canaries:
            summary.canaries += 1
            batch.append(_canary_row(notice_record.id, canary, now))
        if batch and not summary.cancelled:
            write(batch)
    summary.seconds = time.perf_counter() - started
    figures = {k: v for k, v in asdict(summary).items() if "seconds" not in k}
    with session_factory() as session, session.begin():
        # A cancel that ran while the last batch was being written must still win.
        if summary.cancelled or _cancelled(session, notice_record.id):
            summary.cancelled = figures["cancelled"] = True
            cancel_deliveries(session, notice_record.id)
        record(
            session,
            actor=actor,
            action="deliveries.planned",
            subject_type="notice",
            subject_id=notice_record.id,
            source=source,
            details={"code": notice_record.code, **figures},
        )
    # Counts only: names, numbers and addresses never reach the logs.
    logger.info("planned notice %s in %.2f s: %s", notice_record.code, summary.seconds, figures)
    return summary


def _cancelled(session: Session, notice_id: int) -> bool:
    """Whether sending the notice was cancelled (cancel_deliveries marks its deliveries)."""
    cancelled = DeliveryStatus.cancelled.value
    query = sa.select(Delivery.id).where(
        Delivery.notice_id == notice_id, Delivery.status == cancelled
    )
    return session.scalar(query.limit(1)) is not None
