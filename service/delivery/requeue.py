"""Re-queuing a notice's failed deliveries (`klarvarsel retry CODE`), e.g. after a long outage.

Only failures that retrying can mend are re-queued: those that gave up on temporary errors at
their deadline, and those the provider reported undelivered (a phone that was off). A refusal
for good (an invalid number, an opt-out) stays failed. Each person gets at most one message:
someone who has another delivery of the notice under way or done is left alone, and of several
failed deliveries only the first choice is re-queued (its fallback runs again if it fails).
A notice whose sending was stopped (`klarvarsel stop-sending`: some deliveries cancelled) is
never re-queued: retrying must not undo a stop, as planning and fallback do not. Nor is one
an update, all-clear or cancel has followed (a sent notice referencing it): the old message
would contradict the newer one ("boil the water" after "you can drink the water again").
The command, the API route and the web page's button all call `retry_failed`.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.config import Settings
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery, DeliveryStatus
from service.notices.models import NoticeRecord, NoticeState

MENDABLE = ("gave up", "the provider reported")
_BUSY = (
    DeliveryStatus.planned,
    DeliveryStatus.sending,
    DeliveryStatus.sent,
    DeliveryStatus.delivered,
)


def _mendable(last_error: str | None) -> bool:
    text = (last_error or "").removeprefix(POSSIBLE_DUPLICATE).lstrip("; ")
    return text.startswith(MENDABLE)


def _followed(session: Session, notice: NoticeRecord) -> bool:
    """Whether a sent notice (an update, all-clear or cancel) follows this one."""
    query = sa.select(NoticeRecord.id).where(
        NoticeRecord.references_id == notice.id, NoticeRecord.status == NoticeState.sent
    )
    return session.scalar(query.limit(1)) is not None


def _stopped(session: Session, notice: NoticeRecord) -> bool:
    """Whether sending was stopped (some deliveries cancelled)."""
    query = sa.select(Delivery.id).where(
        Delivery.notice_id == notice.id, Delivery.status == DeliveryStatus.cancelled
    )
    return session.scalar(query.limit(1)) is not None


def retry_refused(session: Session, notice: NoticeRecord) -> str | None:
    """Why retrying may not touch this notice ('stopped' or 'followed'), or None if it may."""
    if _stopped(session, notice):
        return "stopped"
    if _followed(session, notice):
        return "followed"  # a newer message about it went out
    return None


def requeue_failed(session: Session, notice: NoticeRecord, settings: Settings) -> int:
    """Plan again the notice's failed deliveries that retrying can mend; how many were."""
    if retry_refused(session, notice) is not None:
        return 0
    rows = session.scalars(
        sa.select(Delivery)
        .where(Delivery.notice_id == notice.id, Delivery.channel.in_(("sms", "email")))
        .order_by(Delivery.id)
    ).all()
    busy = {d.recipient_key for d in rows if d.status in _BUSY}
    now = utcnow()
    minutes = (
        settings.delivery_deadline_minutes
        if notice.mode == "actual"
        else settings.exercise_deadline_minutes
    )
    chosen: dict[str, Delivery] = {}
    for d in rows:
        if d.status != DeliveryStatus.failed or not d.address or d.recipient_key in busy:
            continue
        if d.recipient_key not in chosen and _mendable(d.last_error):
            chosen[d.recipient_key] = d
    for d in chosen.values():
        marked = (d.last_error or "").startswith(POSSIBLE_DUPLICATE)
        d.status = DeliveryStatus.planned
        d.next_attempt_at = now
        d.give_up_at = now + timedelta(minutes=minutes)
        d.last_error = POSSIBLE_DUPLICATE if marked else None
        d.lease_owner = d.lease_expires_at = d.provider_id = None
    session.flush()
    return len(chosen)


def retry_failed(
    session: Session, notice: NoticeRecord, settings: Settings, *, actor: str, source: str
) -> int:
    """Re-queue what retrying can mend and audit who asked (`deliveries.requeued`); how many.

    Harmless when repeated: a second call finds them planned (or sent) and re-queues nothing.
    """
    count = requeue_failed(session, notice, settings)
    record(
        session,
        actor=actor,
        action="deliveries.requeued",
        subject_type="notice",
        subject_id=notice.id,
        source=source,
        details={"requeued": count},
    )
    return count
