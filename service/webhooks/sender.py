"""The background sender: claims due webhook deliveries with a lease, signs, sends, records.

At least once, as the delivery worker: a sender that dies mid-request leaves a lease that
expires, and another (or the same after a restart) sends again with the same webhook-id, so a
receiver that keeps the ids it has seen handles each event once. 2xx is delivered; 5xx, 408,
429, timeouts and connection errors are retried with growing delays (4x each time from
`webhook_retry_base_seconds`, a 429's Retry-After if longer) until `give_up_at`; any other
answer fails at once. Every request is logged in `webhook_attempts`.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests
import sqlalchemy as sa
from requests.adapters import HTTPAdapter
from sqlalchemy.orm import Session

from service.clock import as_utc, utcnow
from service.config import Settings
from service.store.database import session_scope
from service.webhooks.addresses import AddressRefused, check_url, checked_addresses, pinned
from service.webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEvent,
    WebhookStatus,
    WebhookSubscription,
)
from service.webhooks.secret_box import SecretKeyMissing, seal_stored_secrets, unseal
from service.webhooks.signing import headers as signed_headers

logger = logging.getLogger(__name__)
BATCH = 50
CONCURRENCY = 8
ERROR_MAX_LENGTH = 500
MAX_DELAY = timedelta(hours=6)
RETRYABLE = frozenset({408, 429}) | frozenset(range(500, 600))


@dataclass(frozen=True)
class Job:
    """One claimed delivery, with what its request needs."""

    delivery_id: int
    attempts: int
    give_up_at: datetime
    url: str
    secret: str
    subscription_id: int
    message_id: str
    body: bytes


@dataclass(frozen=True)
class Result:
    """How one request went."""

    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: float | None = None
    permanent: bool = False


def new_sender_id() -> str:
    """host:pid:random, as the delivery worker names itself."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def claim(session: Session, sender_id: str, settings: Settings, batch: int = BATCH) -> list[Job]:
    """Claim due deliveries (and ones whose lease expired) for a lease; their jobs."""
    now = utcnow()
    due = sa.or_(
        sa.and_(
            WebhookDelivery.status == WebhookStatus.pending.value,
            WebhookDelivery.next_attempt_at <= now,
        ),
        sa.and_(
            WebhookDelivery.status == WebhookStatus.sending.value,
            WebhookDelivery.lease_expires_at < now,
        ),
    )
    # A subscription stopped while one of its deliveries was claimed: that one (its lease run
    # out with a sender that died) is never sent again, and the log says why.
    stopped = WebhookDelivery.subscription_id.in_(
        sa.select(WebhookSubscription.id).where(WebhookSubscription.active.is_(False))
    )
    session.execute(
        sa.update(WebhookDelivery)
        .where(due, stopped)
        .values(status=WebhookStatus.failed.value, last_error="the subscription was removed")
        .execution_options(synchronize_session=False)
    )
    query = sa.select(WebhookDelivery.id).where(due).order_by(WebhookDelivery.id).limit(batch)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    ids = list(session.scalars(query))
    if not ids:
        return []
    session.execute(
        sa.update(WebhookDelivery)
        .where(WebhookDelivery.id.in_(ids), due)
        .values(
            status=WebhookStatus.sending.value,
            lease_owner=sender_id,
            lease_expires_at=now + timedelta(seconds=settings.webhook_lease_seconds),
        )
        .execution_options(synchronize_session=False)
    )
    rows = session.execute(
        sa.select(WebhookDelivery, WebhookSubscription, WebhookEvent)
        .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
        .join(WebhookEvent, WebhookEvent.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.id.in_(ids), WebhookDelivery.lease_owner == sender_id)
        .order_by(WebhookDelivery.id)
    ).all()
    return [
        Job(
            delivery_id=d.id,
            attempts=d.attempts,
            give_up_at=as_utc(d.give_up_at),
            url=s.url,
            secret=s.secret,
            subscription_id=s.id,
            message_id=e.message_id,
            body=json.dumps(e.payload, ensure_ascii=False, separators=(",", ":")).encode(),
        )
        for d, s, e in rows
    ]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    return float(value) if value.isdigit() else None


class _ServerNameAdapter(HTTPAdapter):
    """Connects to an address but speaks TLS to the name: SNI and certificate check."""

    def __init__(self, hostname: str) -> None:
        self._hostname = hostname
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        kwargs.update(server_hostname=self._hostname, assert_hostname=self._hostname)
        super().init_poolmanager(*args, **kwargs)


@contextmanager
def _pinned_session(
    http: requests.Session, url: str, settings: Settings
) -> Iterator[requests.Session]:
    """`http` for plain HTTP; for HTTPS a session whose TLS names the URL's host."""
    parts = urlsplit(url)
    if parts.scheme != "https":
        yield http
        return
    with requests.Session() as session:
        session.trust_env = False
        if settings.webhook_ca_bundle is not None:
            session.verify = str(settings.webhook_ca_bundle)
        session.mount("https://", _ServerNameAdapter(parts.hostname or ""))
        yield session


def send(job: Job, settings: Settings, http: requests.Session) -> Result:
    """POST the event, signed; never follows a redirect."""
    started = time.monotonic()

    def took() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        secret = unseal(job.secret, settings, job.subscription_id)
    except SecretKeyMissing as exc:
        return Result(None, str(exc)[:ERROR_MAX_LENGTH], took())  # retried: restore the key
    try:
        # Again at send time: the name may point somewhere else since it was subscribed. The
        # request goes to the address checked here, never to a second lookup's answer.
        address = checked_addresses(
            check_url(job.url, allow_private=True, resolve=False),
            allow_private=settings.webhook_allow_private_addresses,
        )[0]
    except AddressRefused as exc:
        return Result(None, str(exc), took(), permanent=True)
    target, host = pinned(job.url, address)
    stamp = int(utcnow().timestamp())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "Klarvarsel-Webhooks/1",
        "Host": host,
        **signed_headers(secret, job.message_id, stamp, job.body),
    }
    try:
        with _pinned_session(http, job.url, settings) as session:
            response = session.post(
                target,
                data=job.body,
                headers=headers,
                timeout=settings.webhook_timeout_seconds,
                allow_redirects=False,
            )
            response.close()
    except requests.Timeout:
        return Result(None, f"no answer within {settings.webhook_timeout_seconds:g} s", took())
    except requests.RequestException as exc:
        return Result(None, f"{type(exc).__name__}: {exc}"[:ERROR_MAX_LENGTH], took())
    code = response.status_code
    if 200 <= code < 300:
        return Result(code, None, took())
    error = f"the receiver answered {code}"
    if 300 <= code < 400:
        error += " (redirects are not followed)"
    return Result(code, error, took(), _retry_after(response), permanent=code not in RETRYABLE)


def next_delay(attempts: int, settings: Settings, retry_after: float | None) -> timedelta:
    """The wait before attempt `attempts + 1`: base x 4^(attempts-1), at most six hours."""
    delay = timedelta(seconds=settings.webhook_retry_base_seconds * 4 ** max(attempts - 1, 0))
    if retry_after is not None:
        delay = max(delay, timedelta(seconds=retry_after))
    return min(delay, MAX_DELAY)


def record(session: Session, sender_id: str, job: Job, result: Result, settings: Settings) -> str:
    """Log the attempt and move the delivery on; its new status."""
    now = utcnow()
    attempts = job.attempts + 1
    session.add(
        WebhookAttempt(
            delivery_id=job.delivery_id,
            attempted_at=now,
            status_code=result.status_code,
            error=result.error,
            duration_ms=result.duration_ms,
        )
    )
    values: dict[str, object] = {
        "attempts": attempts,
        "last_status_code": result.status_code,
        "last_error": result.error,
        "lease_owner": None,
        "lease_expires_at": None,
    }
    if result.error is None:
        values.update(status=WebhookStatus.delivered.value, delivered_at=now)
    else:
        retry_at = now + next_delay(attempts, settings, result.retry_after)
        if result.permanent or retry_at > job.give_up_at:
            values.update(status=WebhookStatus.failed.value)
        else:
            values.update(status=WebhookStatus.pending.value, next_attempt_at=retry_at)
    session.execute(
        sa.update(WebhookDelivery)
        .where(
            WebhookDelivery.id == job.delivery_id,
            WebhookDelivery.lease_owner == sender_id,
        )
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return str(values["status"])


def send_round(settings: Settings, sender_id: str, http: requests.Session) -> int:
    """Claim one batch, send it, record it; how many were sent."""
    with session_scope() as session:
        jobs = claim(session, sender_id, settings)
    if not jobs:
        return 0
    with ThreadPoolExecutor(max_workers=min(CONCURRENCY, len(jobs))) as pool:
        results = list(pool.map(lambda job: send(job, settings, http), jobs))
    with session_scope() as session:
        for job, result in zip(jobs, results, strict=True):
            status = record(session, sender_id, job, result, settings)
            logger.info("webhook delivery %s: %s (%s)", job.delivery_id, status, result.error)
    return len(jobs)


def run_sender(settings: Settings, *, stop_event: threading.Event, once: bool = False) -> int:
    """Send until stopped (or, with `once`, until nothing is due); how many were sent."""
    sender_id = new_sender_id()
    total = 0
    try:
        with session_scope() as session:
            sealed = seal_stored_secrets(session, settings)
        if sealed:
            logger.info("sealed %d webhook secret(s) stored as given", sealed)
    except SecretKeyMissing:
        logger.exception("webhook secrets cannot be sealed; sending goes on, signing may fail")
    with requests.Session() as http:
        http.trust_env = False  # a proxy from the environment must not see our webhooks
        while not stop_event.is_set():
            try:
                sent = send_round(settings, sender_id, http)
            except Exception:
                logger.exception("webhook round failed; trying again")
                sent = 0
            total += sent
            if once and not sent:
                return total
            if not sent:
                stop_event.wait(settings.webhook_tick_seconds)
    return total
