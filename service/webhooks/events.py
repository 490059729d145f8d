"""Emitting events: one outbox row per event, one delivery per subscription that wants it.

Called from inside the transaction that makes the change (the workflow's audit step, the
delivery worker's recording, provider callbacks), so an event exists exactly when its change
was committed, and survives a crash until a sender delivers it.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Sequence
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

# Imported here, not inside a function: a delivery worker's first event would otherwise import
# (and map) the accounts' models in its recording thread while its other threads run queries.
from service.accounts.models import ApiKey
from service.clock import utcnow
from service.config import get_settings
from service.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription

NOTICE_EVENTS = (
    "notice.draft_created",
    "notice.draft_updated",
    "notice.submitted",
    "notice.approved",
    "notice.approval_withdrawn",
    "notice.scheduled",
    "notice.sent",
    "notice.discarded",
)
DELIVERY_EVENTS = ("delivery.sent", "delivery.delivered", "delivery.failed")
EVENT_TYPES = NOTICE_EVENTS + DELIVERY_EVENTS
WILDCARDS = ("notice.*", "delivery.*")


def wants(events: Collection[str], event_type: str) -> bool:
    """Whether a subscription's event list takes this type (exactly or by `kind.*`)."""
    return event_type in events or f"{event_type.split('.', 1)[0]}.*" in events


def _subscriptions(session: Session) -> Sequence[WebhookSubscription]:
    """Active subscriptions whose key still works: a revoked or expired key hears nothing."""
    now = utcnow()
    key_works = sa.or_(
        WebhookSubscription.key_id.is_(None),
        sa.and_(
            ApiKey.revoked_at.is_(None),
            sa.or_(ApiKey.expires_at.is_(None), ApiKey.expires_at > now),
        ),
    )
    return session.scalars(
        sa.select(WebhookSubscription)
        .outerjoin(ApiKey, ApiKey.id == WebhookSubscription.key_id)
        .where(WebhookSubscription.active.is_(True), key_works)
    ).all()


def _add(
    session: Session,
    subscriptions: Sequence[WebhookSubscription],
    event_type: str,
    data: dict[str, Any],
    mode: str,
) -> None:
    takers = [
        s
        for s in subscriptions
        if wants(s.events, event_type) and not (s.test_only and mode == "actual")
    ]
    if not takers:
        return
    now = utcnow()
    event = WebhookEvent(
        message_id=f"msg_{uuid.uuid4().hex}",
        type=event_type,
        mode=mode,
        payload={"type": event_type, "timestamp": now.isoformat(), "data": data},
        created_at=now,
    )
    session.add(event)
    session.flush()
    give_up = now + timedelta(hours=get_settings().webhook_retry_hours)
    session.add_all(
        WebhookDelivery(
            subscription_id=s.id,
            event_id=event.id,
            next_attempt_at=now,
            give_up_at=give_up,
            created_at=now,
        )
        for s in takers
    )


def emit(session: Session, event_type: str, data: dict[str, Any], *, mode: str) -> None:
    """Record an event for every active subscription that wants it (in the caller's transaction)."""
    _add(session, _subscriptions(session), event_type, data, mode)


def emit_notice(session: Session, action: str, notice: Any, details: dict[str, Any]) -> None:
    """A notice's state change (an audit action such as notice.sent) as an event."""
    if action not in NOTICE_EVENTS:
        return
    data = {
        "code": notice.code,
        "status": notice.status,
        "mode": notice.mode,
        "scenario": notice.scenario,
        "message_type": notice.message_type,
        **{k: v for k, v in details.items() if k in ("send_at", "follows", "was", "reason")},
    }
    emit(session, action, data, mode=notice.mode)


def delivery_subscriptions(session: Session) -> list[WebhookSubscription]:
    """The subscriptions that want some delivery event (usually none: one small query)."""
    return [s for s in _subscriptions(session) if any(wants(s.events, t) for t in DELIVERY_EVENTS)]


def wants_delivery_events(session: Session) -> bool:
    """Whether any subscription wants a delivery event (workers check this beside circuits)."""
    return bool(delivery_subscriptions(session))


def emit_deliveries(
    session: Session,
    delivery_ids: Collection[int],
    subscriptions: Sequence[WebhookSubscription] | None = None,
) -> None:
    """Each delivery's current status (sent, delivered, failed) as an event; no personal data.

    The caller makes sure each id's change happened in this transaction (once per delivery);
    `subscriptions` saves the query when it already has `delivery_subscriptions`.
    """
    if not delivery_ids:
        return
    if subscriptions is None:
        subscriptions = delivery_subscriptions(session)
    if not subscriptions:
        return
    from service.delivery.models import Delivery
    from service.notices.models import NoticeRecord

    rows = session.execute(
        sa.select(Delivery, NoticeRecord.code, NoticeRecord.mode)
        .join(NoticeRecord, NoticeRecord.id == Delivery.notice_id)
        .where(Delivery.id.in_(sorted(delivery_ids)))
        .order_by(Delivery.id)
    ).all()
    for delivery, code, mode in rows:
        event_type = f"delivery.{delivery.status}"
        if event_type not in DELIVERY_EVENTS:
            continue
        data = {
            "delivery_id": delivery.id,
            "notice_code": code,
            "channel": delivery.channel,
            "status": delivery.status,
            "language": delivery.language,
            "audience": delivery.audience,
            "attempts": delivery.attempts,
        }
        _add(session, subscriptions, event_type, data, mode)
