"""`klarvarsel deliver`: publish a notice and plan it into the delivery outbox for the workers."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import sessionmaker

from service.config import Settings
from service.content import ContentLibrary
from service.delivery.planning import PlanPreview, PlanSummary, plan_deliveries, preview_plan
from service.notices.publish import publish_notice
from service.notices.service import Notice
from service.recipients.areas import load_areas
from service.store.database import get_engine, session_scope


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


def preview(notice: Notice, library: ContentLibrary, settings: Settings) -> PlanPreview:
    """The plan for `notice` against the register; writes nothing."""
    with session_scope() as session:
        return preview_plan(session, notice, library, load_areas(settings.areas_file), settings)


def publish_and_plan(
    notice: Notice, raw: dict[str, Any], library: ContentLibrary, settings: Settings, actor: str
) -> tuple[str, PlanSummary]:
    """Store the notice under its public code and plan every delivery; returns the code."""
    with session_scope() as session:
        record = publish_notice(session, notice, raw, actor=actor, source="cli")
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
    )
    return record.code, summary


def run_until_done(settings: Settings) -> None:
    """Run one worker in this process until nothing is planned or being sent."""
    from service.delivery.worker import run_worker

    run_worker(settings, stop_event=threading.Event(), once=True)
