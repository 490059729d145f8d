"""`klarvarsel deliver`: publish a notice and plan it into the delivery outbox for the workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import sessionmaker

from service.config import Settings
from service.content import ContentLibrary
from service.delivery.planning import (
    PlanPreview,
    PlanSummary,
    finish_preview,
    plan_deliveries,
    preview_plan,
)
from service.notices.links import notice_url
from service.notices.models import NoticeRecord
from service.notices.publish import (
    content_hash,
    find_duplicate,
    mark_planned,
    next_code,
    publish_notice,
)
from service.notices.service import Notice
from service.recipients.areas import load_areas
from service.recipients.service import reaches_anybody
from service.store.database import get_engine, session_scope
from service.variants.service import NoticeReport, render_notice


@dataclass(frozen=True)
class DeliveryPreview:
    """Everything `deliver` shows before it publishes: the code, checks and the plan.

    `plan` is the full preview (a pass over the register) only for a dry run; a real send
    counts the same figures while planning (publish_and_plan), so the register is read once.
    """

    code: str
    url: str
    duplicate_of: NoticeRecord | None
    report: NoticeReport
    reaches_anybody: bool
    plan: PlanPreview | None = None


def prepare(
    notice: Notice,
    raw: dict[str, Any],
    library: ContentLibrary,
    settings: Settings,
    *,
    full_plan: bool = False,
) -> DeliveryPreview:
    """The code the notice would be published under, its checked variants and whom it reaches.

    The variants are rendered with the notice's real public link, so the characters and SMS
    segments shown are those that will be sent. Whether anybody is reached is one EXISTS
    query; `full_plan` (a dry run) also reads the register to show the whole plan.
    """
    envelope = notice.envelope
    areas = load_areas(settings.areas_file)
    with session_scope() as session:
        digest = content_hash(raw)
        duplicate = find_duplicate(session, digest)
        if duplicate is not None:
            session.expunge(duplicate)
        code = next_code(session, digest)
        url = notice_url(settings, code)
        plan = None
        if full_plan:
            plan = preview_plan(session, notice, library, areas, settings, public_url=url)
            anybody = plan.recipients > 0
        else:
            anybody = reaches_anybody(
                session, envelope.areas, envelope.audiences, envelope.mode, areas
            )
    report = render_notice(notice, library, public_url=url)
    return DeliveryPreview(code, url, duplicate, report, anybody, plan)


def describe_preview(preview: PlanPreview, echo: Callable[[str], Any]) -> None:
    """Print the plan as the communicator must see it before anything is sent."""
    echo(
        f"{preview.messages} messages to {preview.recipients} recipients "
        f"({preview.with_fallback} with a fallback channel)"
    )
    for title, counts in (
        ("channel", preview.by_channel),
        ("language", preview.by_language),
        ("audience", preview.by_audience),
    ):
        echo(f"  by {title}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    echo(f"  SMS segments {preview.sms_segments}, estimated cost {preview.cost_sek:.2f} SEK")
    for problem in preview.unreachable:
        echo(f"UNREACHABLE {problem.recipient.name}: {problem.reason}")
    for canary in preview.canaries:
        echo(f"CANARY {canary.label} ({canary.channel}): {canary.problem or 'will be sent'}")


def publish_and_plan(
    notice: Notice,
    raw: dict[str, Any],
    library: ContentLibrary,
    settings: Settings,
    actor: str,
    *,
    repeat: bool = False,
    preview: PlanPreview | None = None,
) -> tuple[str, PlanSummary]:
    """Store the notice under its public code and plan every delivery; returns the code.

    Given a `preview`, planning counts the plan into it in the same pass (with SMS segments and
    cost for the published link). Raises DuplicateNotice when the same content was published
    before and `repeat` is False.
    """
    with session_scope() as session:
        record = publish_notice(session, notice, raw, actor=actor, source="cli", repeat=repeat)
        session.expunge(record)
    factory = sessionmaker(bind=get_engine(), expire_on_commit=False)
    summary = plan_deliveries(
        factory,
        record,
        notice,
        library,
        load_areas(settings.areas_file),
        settings,
        actor=actor,
        source="cli",
        preview=preview,
    )
    with session_scope() as session:
        mark_planned(session, record.id)
    if preview is not None:
        url = notice_url(settings, record.code)
        finish_preview(preview, notice, library, settings, public_url=url)
    return record.code, summary


def run_until_done(settings: Settings) -> None:
    """Run one worker in this process until nothing is planned or being sent."""
    from service.delivery.worker import run_worker

    run_worker(settings, stop_event=threading.Event(), once=True)
