"""Approval: four eyes for actual alerts, tied to a fingerprint of what would be sent.

The fingerprint covers every variant's text as rendered for the approval time, and the register
rows the notice reaches (their count, ids, revisions and newest row: one aggregate query).
Sending recomputes it for the same time without planning; any difference (an edit, a changed
template, a person added, removed or changed in the areas) withdraws the approval, so nobody
sends what nobody approved. The texts then go out rendered for the real send time, so a start
time that has passed in between is told in the present tense.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

if TYPE_CHECKING:
    from hashlib import _Hash

from service.clock import as_utc, utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.planning import PlanPreview, preview_plan
from service.notices.links import notice_url
from service.notices.models import NoticeRecord, NoticeState
from service.notices.publish import reference_lookup
from service.notices.service import Notice, validate_notice
from service.recipients.areas import AreaMap
from service.recipients.service import reach_digest
from service.variants.service import NoticeReport, render_notice
from service.workflow.drafts import _audit
from service.workflow.schemas import (
    Actor,
    ChecksNotAccepted,
    NotAllowed,
    WrongState,
)


@dataclass(frozen=True)
class Impact:
    """What sending would do, for the approver to confirm in words before sending."""

    recipients: int
    messages_by_channel: dict[str, int]
    unreachable: int
    areas: list[str]  # area names, as people know them
    sms_segments: int
    cost_sek: float
    failed_checks: int
    mode: str
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Review:
    """A notice rendered, checked and planned for one moment: what approval looks at."""

    report: NoticeReport
    plan: PlanPreview
    fingerprint: str
    impact: Impact


def _texts(report: NoticeReport) -> _Hash:
    """A digest of every variant's text, ready for more parts."""
    digest = hashlib.sha256()
    for key in sorted(report.variants, key=lambda k: (k.language, k.name)):
        variant = report.variants[key]
        for part in (key.language, key.name, variant.subject, variant.text, variant.html or ""):
            digest.update(part.encode("utf-8") + b"\x00")
    return digest


def _fingerprint(session: Session, notice: Notice, report: NoticeReport, areas: AreaMap) -> str:
    """Every variant's text, and the register rows the notice reaches (one aggregate query)."""
    digest = _texts(report)
    envelope = notice.envelope
    reach = reach_digest(session, envelope.areas, envelope.audiences, envelope.mode, areas)
    digest.update(reach.encode())
    return digest.hexdigest()


def _rendered(
    session: Session,
    notice_record: NoticeRecord,
    library: ContentLibrary,
    settings: Settings,
    at: datetime,
) -> tuple[Notice, NoticeReport, str]:
    notice = validate_notice(
        notice_record.payload, library, now=at, references=reference_lookup(session)
    )
    url = notice_url(settings, notice_record.code)
    return notice, render_notice(notice, library, public_url=url), url


def approval_holds(
    session: Session, notice_record: NoticeRecord, library: ContentLibrary, settings: Settings
) -> bool:
    """Whether what would be sent is what was approved (rendered for the approval's time).

    An approval given before 3 Dec 2026 fingerprinted the plan's messages per channel, not the
    register rows: it is checked that way instead (a planning pass), so no approval or
    scheduled alert is withdrawn by the upgrade itself.
    """
    assert notice_record.approved_at is not None
    at = as_utc(notice_record.approved_at)
    notice, report, url = _rendered(session, notice_record, library, settings, at)
    stored = notice_record.approval_fingerprint
    if _fingerprint(session, notice, report, library.areas) == stored:
        return True
    plan = preview_plan(session, notice, library, library.areas, settings, public_url=url)
    earlier = _texts(report)
    earlier.update(json.dumps(sorted(plan.by_channel.items())).encode())
    return earlier.hexdigest() == stored


def review(
    session: Session,
    notice_record: NoticeRecord,
    library: ContentLibrary,
    settings: Settings,
    at: datetime,
) -> Review:
    """Render, check and plan the notice as if sent at `at` (raises NoticeInvalid)."""
    notice, report, url = _rendered(session, notice_record, library, settings, at)
    # Before the plan's pass: a register change committed during it then withdraws the
    # approval at send, rather than being approved unseen.
    fingerprint = _fingerprint(session, notice, report, library.areas)
    plan = preview_plan(session, notice, library, library.areas, settings, public_url=url)
    names = [library.areas.areas[a].name for a in notice.envelope.areas if a in library.areas.areas]
    impact = Impact(
        recipients=plan.recipients,
        messages_by_channel=dict(plan.by_channel),
        unreachable=len(plan.unreachable),
        areas=names,
        sms_segments=plan.sms_segments,
        cost_sek=round(plan.cost_sek, 2),
        failed_checks=sum(1 for c in report.checks if not c.passed),
        mode=notice.envelope.mode.value,
        warnings=[str(w) for w in notice.warnings],
    )
    return Review(report, plan, fingerprint, impact)


def may_approve(notice_record: NoticeRecord, actor: Actor, settings: Settings) -> bool:
    """Whether `actor` may approve it: never their own actual alert, unless the setting allows."""
    wrote = actor.name in (notice_record.created_by, notice_record.updated_by)
    return not wrote or notice_record.mode != "actual" or settings.allow_self_approval


def approve(
    session: Session,
    notice_record: NoticeRecord,
    library: ContentLibrary,
    settings: Settings,
    actor: Actor,
    *,
    accept_failed_checks: bool = False,
) -> Review:
    """Approve a draft or submitted notice as it is now; returns what was approved."""
    if notice_record.status not in (NoticeState.draft, NoticeState.submitted):
        raise WrongState(
            f"{notice_record.code} is {notice_record.status}; only a draft or a submitted "
            "notice can be approved"
        )
    if actor.is_test and notice_record.mode == "actual":
        raise NotAllowed("a test key may only approve exercise and test notices")
    if not may_approve(notice_record, actor, settings):
        raise NotAllowed(
            "you wrote this alert, so another approver must approve it (four eyes); a "
            "municipality with one communicator on duty can allow self-approval in its settings"
        )
    now = utcnow()
    seen = review(session, notice_record, library, settings, now)
    if seen.impact.failed_checks and not accept_failed_checks:
        raise ChecksNotAccepted(
            f"{seen.impact.failed_checks} checks failed; fix the texts, or approve with the "
            "failed checks accepted explicitly"
        )
    wrote = actor.name in (notice_record.created_by, notice_record.updated_by)
    notice_record.status = NoticeState.approved
    notice_record.approved_at, notice_record.approved_by = now, actor.name
    notice_record.approval_fingerprint = seen.fingerprint
    notice_record.self_approved = wrote
    _audit(
        session,
        notice_record,
        actor,
        "notice.approved",
        {
            "self_approved": wrote,
            "fingerprint": seen.fingerprint,
            "failed_checks_accepted": seen.impact.failed_checks,
            "messages": seen.impact.messages_by_channel,
        },
    )
    return seen
