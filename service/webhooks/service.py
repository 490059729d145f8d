"""Subscriptions: made per API key (the secret shown once), listed, removed; the delivery log.

A subscription belongs to the key (or person) that made it: others see none of it. A test
key's subscription never receives events about actual notices. Delivery events need
reports:read besides notices:read, as the delivery reports do.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.audit.service import record
from service.clock import utcnow
from service.config import Settings
from service.webhooks.addresses import AddressRefused, check_url
from service.webhooks.events import DELIVERY_EVENTS, EVENT_TYPES, WILDCARDS, wants
from service.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookStatus,
    WebhookSubscription,
)
from service.webhooks.secret_box import box_key, seal
from service.webhooks.signing import new_secret

MAX_SUBSCRIPTIONS_PER_OWNER = 20
DESCRIPTION_MAX_LENGTH = 200
LOG_LIMIT = 200


class SubscriptionInvalid(ValueError):
    """What is wrong with a subscription request; every problem at once."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Owner:
    """Who a subscription belongs to: an API key (its id) or a person, as the audit names them."""

    actor: str
    key_id: int | None
    test_only: bool
    may_read_reports: bool
    source: str = "api"


def create_subscription(
    session: Session,
    owner: Owner,
    settings: Settings,
    *,
    url: str,
    events: list[str],
    description: str = "",
) -> tuple[WebhookSubscription, str]:
    """Store a subscription; returns it and its secret (shown to the caller once)."""
    problems: list[str] = []
    try:
        check_url(url, allow_private=settings.webhook_allow_private_addresses)
    except AddressRefused as exc:
        problems.append(str(exc))
    known = set(EVENT_TYPES) | set(WILDCARDS)
    unknown = [e for e in events if e not in known]
    if unknown:
        problems.append(
            f"events: unknown {', '.join(map(repr, unknown))}; known: {', '.join(sorted(known))}"
        )
    if not events:
        problems.append("events: name at least one event type (or notice.* / delivery.*)")
    if any(wants(events, t) for t in DELIVERY_EVENTS) and not owner.may_read_reports:
        problems.append("events: delivery events need the permission reports:read")
    if len(description) > DESCRIPTION_MAX_LENGTH:
        problems.append(f"description: longer than {DESCRIPTION_MAX_LENGTH} characters")
    if len(owned(session, owner.actor)) >= MAX_SUBSCRIPTIONS_PER_OWNER:
        problems.append(f"at most {MAX_SUBSCRIPTIONS_PER_OWNER} subscriptions per key")
    if problems:
        raise SubscriptionInvalid(problems)
    secret, key = new_secret(), box_key(settings, session, create=True)
    subscription = WebhookSubscription(
        key_id=owner.key_id,
        owner=owner.actor,
        url=url,
        events=sorted(set(events)),
        secret="",  # sealed below, bound to the id the row is given
        description=description,
        test_only=owner.test_only,
        active=True,
    )
    session.add(subscription)
    session.flush()
    subscription.secret = seal(secret, key, subscription.id)
    session.flush()
    _audit(session, subscription, owner, "webhook.subscribed", {"url": url, "events": events})
    return subscription, secret


def owned(session: Session, actor: str) -> list[WebhookSubscription]:
    """The caller's active subscriptions, oldest first."""
    return list(
        session.scalars(
            sa.select(WebhookSubscription)
            .where(WebhookSubscription.owner == actor, WebhookSubscription.active.is_(True))
            .order_by(WebhookSubscription.id)
        )
    )


def find_owned(session: Session, actor: str, subscription_id: int) -> WebhookSubscription | None:
    """One of the caller's active subscriptions (None for anybody else's)."""
    found = session.get(WebhookSubscription, subscription_id)
    if found is None or found.owner != actor or not found.active:
        return None
    return found


def remove_subscription(session: Session, subscription: WebhookSubscription, owner: Owner) -> None:
    """Stop it: nothing more is queued; what is queued is dropped."""
    subscription.active = False
    subscription.removed_at = utcnow()
    session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.subscription_id == subscription.id,
            WebhookDelivery.status == WebhookStatus.pending.value,
        )
        .values(status=WebhookStatus.failed.value, last_error="the subscription was removed")
    )
    # Removed by someone else (an admin): the audit names whose subscription it was too.
    details: dict[str, object] = {}
    if owner.actor != subscription.owner:
        details["owner"] = subscription.owner
    _audit(session, subscription, owner, "webhook.unsubscribed", details)


def delivery_log(
    session: Session, subscription_id: int, limit: int = LOG_LIMIT
) -> list[tuple[WebhookDelivery, WebhookEvent, list[WebhookAttempt]]]:
    """The subscription's deliveries, newest first, each with its event and attempts."""
    rows = session.execute(
        sa.select(WebhookDelivery, WebhookEvent)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.subscription_id == subscription_id)
        .order_by(WebhookDelivery.id.desc())
        .limit(limit)
    ).all()
    ids = [d.id for d, _ in rows]
    attempts: dict[int, list[WebhookAttempt]] = {i: [] for i in ids}
    if ids:
        for attempt in session.scalars(
            sa.select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(ids))
            .order_by(WebhookAttempt.id)
        ):
            attempts[attempt.delivery_id].append(attempt)
    return [(d, e, attempts[d.id]) for d, e in rows]


def redeliver(
    session: Session, delivery: WebhookDelivery, settings: Settings, actor: str, source: str
) -> WebhookDelivery:
    """Queue the event again for the same subscription, with the same webhook-id.

    A new delivery row, so the log keeps what happened to the first; the receiver recognises
    the repeat by its webhook-id.
    """
    now = utcnow()
    again = WebhookDelivery(
        subscription_id=delivery.subscription_id,
        event_id=delivery.event_id,
        status=WebhookStatus.pending.value,
        next_attempt_at=now,
        give_up_at=now + timedelta(hours=settings.webhook_retry_hours),
        created_at=now,
    )
    session.add(again)
    session.flush()
    record(
        session,
        actor=actor,
        action="webhook.redelivered",
        subject_type="webhook_delivery",
        subject_id=delivery.id,
        source=source,
        details={"new_delivery": again.id},
    )
    return again


def _audit(
    session: Session,
    subscription: WebhookSubscription,
    owner: Owner,
    action: str,
    details: dict[str, object],
) -> None:
    record(
        session,
        actor=owner.actor,
        action=action,
        subject_type="webhook_subscription",
        subject_id=subscription.id,
        source=owner.source,
        details=details,
    )
