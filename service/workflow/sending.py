"""Sending an approved notice now or at a set time, exactly once.

Release is one conditional UPDATE (approved or scheduled -> sent), so a double-clicked button,
a second browser tab, a retried API call or two web processes send a notice once: the loser
gets WrongState. A released notice is planned into the delivery outbox by the releaser
(service.workflow.releaser), which also releases scheduled notices when they fall due; both
survive a restart, because the state is in the database, not in a process.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.clock import as_utc, utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.notices.models import NoticeRecord, NoticeState
from service.notices.publish import content_hash, find_duplicate
from service.workflow.approval import approval_holds
from service.workflow.drafts import _audit, check, withdraw
from service.workflow.schemas import (
    Actor,
    ApprovalWithdrawn,
    NotAllowed,
    WorkflowError,
    WrongState,
)

logger = logging.getLogger(__name__)

# Set when a release commits, so the releaser in this process plans it at once rather than at
# its next round (the first message of an alert then leaves within a second of the click).
RELEASED = threading.Event()

# A send time this close to now is "now": a form submitted a few seconds late still sends.
NOW_MARGIN = timedelta(seconds=30)
_RELEASABLE = (NoticeState.approved, NoticeState.scheduled)
_UNAPPROVED = (NoticeState.draft, NoticeState.submitted)


@dataclass(frozen=True)
class Sending:
    """What a send request did: released now, or scheduled for `send_at`."""

    code: str
    status: str
    send_at: datetime | None


def _verify_approval(
    session: Session,
    notice: NoticeRecord,
    library: ContentLibrary,
    settings: Settings,
    actor: Actor,
) -> None:
    """Withdraw the approval (and refuse) if what would be sent is not what was approved."""
    if notice.approval_fingerprint is None or notice.approved_at is None:
        raise WrongState(f"{notice.code} is not approved")
    if not approval_holds(session, notice, library, settings):
        withdraw(session, notice, actor, "what would be sent changed after approval")
        # The withdrawal must stand although the send is refused (and its transaction ends).
        session.commit()
        raise ApprovalWithdrawn(
            f"{notice.code} changed after it was approved (its texts or who it reaches); "
            "the approval is withdrawn: review it and approve it again"
        )


def send(
    session: Session,
    notice: NoticeRecord,
    library: ContentLibrary,
    settings: Settings,
    actor: Actor,
    *,
    at: datetime | None = None,
    repeat: bool = False,
) -> Sending:
    """Send an approved notice now, or schedule it for `at` (cancellable until then).

    Exercise and test notices may be sent without approval.
    """
    if actor.is_test and notice.mode == "actual":
        raise NotAllowed("a test key may only send exercise and test notices")
    if notice.status == NoticeState.sent:
        raise WrongState(f"{notice.code} was already sent")
    if notice.status in _UNAPPROVED and notice.mode == "actual":
        raise WrongState(f"{notice.code} is an actual alert and must be approved before sending")
    if notice.status not in (*_RELEASABLE, *_UNAPPROVED):
        raise WrongState(f"{notice.code} is {notice.status} and cannot be sent")
    check(session, notice.payload, library)
    if notice.status in _RELEASABLE:
        _verify_approval(session, notice, library, settings, actor)
    digest = content_hash(notice.payload)
    earlier = find_duplicate(session, digest, besides=notice.id)
    if earlier is not None and not repeat:
        raise WorkflowError(
            f"the same notice was already sent as {earlier.code}; send an update that references "
            "it, or ask explicitly for a new notice"
        )
    now = utcnow()
    if at is not None and at.tzinfo is None:
        at = at.replace(tzinfo=library.timezone)  # a time without an offset is local time
    at = as_utc(at) if at is not None else None  # stored in UTC, as every time is
    if at is not None and at > now + NOW_MARGIN:
        if notice.mode == "actual" and notice.status not in _RELEASABLE:
            raise WrongState(f"{notice.code} must be approved before it is scheduled")
        notice.status, notice.send_at = NoticeState.scheduled, at
        _audit(session, notice, actor, "notice.scheduled", {"send_at": at.isoformat()})
        return Sending(notice.code, notice.status, at)
    if not release(session, notice, actor, now):
        raise WrongState(f"{notice.code} was already sent")
    return Sending(notice.code, NoticeState.sent, None)


def release(session: Session, notice: NoticeRecord, actor: Actor, now: datetime) -> bool:
    """Mark the notice sent, exactly once; False when another request released it first."""
    allowed = [*_RELEASABLE, *([] if notice.mode == "actual" else _UNAPPROVED)]
    payload = dict(notice.payload)
    payload["sent_at"] = now.isoformat()
    changed = session.execute(
        sa.update(NoticeRecord)
        .where(NoticeRecord.id == notice.id, NoticeRecord.status.in_(allowed))
        .values(
            status=NoticeState.sent,
            payload=payload,
            content_hash=content_hash(notice.payload),
            sent_at=now,
            sent_by=actor.name,
            send_at=None,
            updated_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    if not changed.rowcount:  # type: ignore[attr-defined]
        return False
    session.refresh(notice)
    _audit(session, notice, actor, "notice.sent", {"self_approved": notice.self_approved})
    sa.event.listen(session, "after_commit", lambda _session: RELEASED.set(), once=True)
    return True


def release_due(
    session: Session, library: ContentLibrary, settings: Settings, now: datetime
) -> list[str]:
    """Send every scheduled notice whose time has come; codes of those released.

    One that changed since its approval is withdrawn instead (and audited), never sent.
    """
    due = session.scalars(
        sa.select(NoticeRecord)
        .where(NoticeRecord.status == NoticeState.scheduled, NoticeRecord.send_at <= now)
        .with_for_update(skip_locked=True)
        .order_by(NoticeRecord.send_at, NoticeRecord.id)
    ).all()
    released = []
    for notice in due:
        actor = Actor(f"scheduled by {notice.approved_by or notice.created_by}", "schedule")
        try:
            if notice.approval_fingerprint is not None:
                _verify_approval(session, notice, library, settings, actor)
        except WorkflowError as exc:  # withdrawn and audited by _verify_approval
            # Nobody pressed send to see the refusal: the log must say it was not sent.
            logger.warning("scheduled notice %s was not sent: %s", notice.code, exc)
            continue
        if release(session, notice, actor, now):
            released.append(notice.code)
    return released
