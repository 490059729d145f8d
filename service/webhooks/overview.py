"""What an administrator sees of every subscription: its owner, a safe URL and delivery health.

Three queries for the whole list (the subscriptions with their keys, the week's counts, the
last attempts), whatever the number of subscriptions.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit, urlunsplit

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.accounts.keys import key_status
from service.accounts.models import ApiKey
from service.clock import utcnow
from service.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookStatus,
    WebhookSubscription,
)

HEALTH_DAYS = 7
# Still to be sent: waiting for the next attempt or claimed by a sender right now.
WAITING = (WebhookStatus.pending.value, WebhookStatus.sending.value)


@dataclass(frozen=True)
class SafeUrl:
    """A URL as it may be shown: no query string, fragment or user name; whether one was cut."""

    text: str
    cut: bool


@dataclass(frozen=True)
class Health:
    """A subscription's deliveries of the last days, and how the latest attempt went."""

    delivered: int = 0
    waiting: int = 0
    failed: int = 0
    last_at: datetime | None = None
    last_code: int | None = None
    last_error: str | None = None


@dataclass(frozen=True)
class Listed:
    """One active subscription, its key (None for a person's) and its health."""

    subscription: WebhookSubscription
    key: ApiKey | None
    key_state: str
    url: SafeUrl
    health: Health


def safe_url(url: str) -> SafeUrl:
    """The URL without what may hold a token: query string, fragment and user information."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:  # a malformed port: show the address without it rather than fail
        port = None
    netloc = f"{host}:{port}" if port else host
    cut = bool(parts.query or parts.fragment or parts.username or parts.password)
    cut = cut or url.rstrip().endswith(("?", "#"))
    return SafeUrl(urlunsplit((parts.scheme, netloc, parts.path, "", "")), cut)


def with_key(session: Session, subscription: WebhookSubscription) -> Listed:
    """One subscription with its key and URL, without health (the page shows its log)."""
    key = session.get(ApiKey, subscription.key_id) if subscription.key_id else None
    state = key_status(key) if key else ""
    return Listed(subscription, key, state, safe_url(subscription.url), Health())


def active_subscriptions(session: Session) -> list[Listed]:
    """Every active subscription, oldest first, with its key and delivery health."""
    rows = session.execute(
        sa.select(WebhookSubscription, ApiKey)
        .outerjoin(ApiKey, ApiKey.id == WebhookSubscription.key_id)
        .where(WebhookSubscription.active.is_(True))
        .order_by(WebhookSubscription.id)
    ).all()
    health = delivery_health(session, [s.id for s, _ in rows])
    return [
        Listed(s, k, key_status(k) if k else "", safe_url(s.url), health.get(s.id, Health()))
        for s, k in rows
    ]


def delivery_health(session: Session, ids: list[int]) -> dict[int, Health]:
    """Per subscription: the last week's deliveries by outcome, and the latest attempt."""
    if not ids:
        return {}
    since = utcnow() - timedelta(days=HEALTH_DAYS)
    counts: dict[int, dict[str, int]] = {i: {} for i in ids}
    for subscription_id, status, n in session.execute(
        sa.select(WebhookDelivery.subscription_id, WebhookDelivery.status, sa.func.count())
        .where(WebhookDelivery.subscription_id.in_(ids), WebhookDelivery.created_at >= since)
        .group_by(WebhookDelivery.subscription_id, WebhookDelivery.status)
    ):
        counts[subscription_id][status] = n
    # The latest attempt of each subscription: attempt ids grow with time.
    latest = (
        sa.select(sa.func.max(WebhookAttempt.id))
        .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
        .where(WebhookDelivery.subscription_id.in_(ids))
        .group_by(WebhookDelivery.subscription_id)
    )
    last: dict[int, WebhookAttempt] = {
        subscription_id: attempt
        for attempt, subscription_id in session.execute(
            sa.select(WebhookAttempt, WebhookDelivery.subscription_id)
            .join(WebhookDelivery, WebhookDelivery.id == WebhookAttempt.delivery_id)
            .where(WebhookAttempt.id.in_(latest))
        ).all()
    }
    found: dict[int, Health] = {}
    for i in ids:
        by_status, attempt = counts[i], last.get(i)
        found[i] = Health(
            delivered=by_status.get(WebhookStatus.delivered.value, 0),
            waiting=sum(by_status.get(s, 0) for s in WAITING),
            failed=by_status.get(WebhookStatus.failed.value, 0),
            last_at=attempt.attempted_at if attempt else None,
            last_code=attempt.status_code if attempt else None,
            last_error=attempt.error if attempt else None,
        )
    return found
