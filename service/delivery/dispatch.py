"""Sending claimed deliveries and recording every outcome (messages: service.delivery.messages).

Outcomes are recorded in short transactions that each cover the messages that finished since
the previous one (group commit). A worker holds a message's concurrency slot until its outcome
is committed, so a crash can leave at most `worker_concurrency` messages sent but unrecorded:
those, and only those, are sent again by the worker that takes over the lease.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.channels.base import OutgoingMessage, SendResult, Transport, TransportError
from service.channels.status import DELIVERY_RECEIPTS, record_sent_many
from service.clock import utcnow
from service.config import Settings
from service.delivery.fallback import fall_back
from service.delivery.messages import Job, MessageBuilder
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery, DeliveryStatus
from service.webhooks.events import delivery_subscriptions, emit_deliveries

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RetryPolicy:
    """Capped exponential backoff with full jitter between attempts after temporary errors."""

    base_seconds: float = 1.0
    cap_seconds: float = 300.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RetryPolicy:
        """The policy `retry_base_seconds` and `retry_cap_seconds` describe."""
        return cls(settings.retry_base_seconds, settings.retry_cap_seconds)

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (full jitter spreads retries)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** min(max(attempts - 1, 0), 60))
        return random.uniform(0, ceiling)


@dataclass(frozen=True)
class Outcome:
    """What one attempt to send a job came to."""

    job: Job
    result: SendResult | None = None
    error: str | None = None
    permanent: bool = False
    # Not tried: the transport's circuit is open. Waits without counting an attempt.
    deferred: bool = False
    # Refused as "too many requests": retried, but not counted against the provider's circuit.
    throttled: bool = False


def circuit_answers(outcomes: Sequence[Outcome]) -> dict[str, list[str | None]]:
    """What each provider said, for its circuit, in order: None for an answer, else the error.

    An answer is an acceptance, a refusal for good, or "too many requests" (the provider is up).
    Jobs never tried, or sent to the outbox, say nothing.
    """
    answers: dict[str, list[str | None]] = {}
    for o in outcomes:
        if not o.deferred and o.job.message is not None and not o.job.outbox_only:
            temporary = o.result is None and not o.permanent and not o.throttled
            answers.setdefault(o.job.channel, []).append(o.error if temporary else None)
    return answers


class TokenBucket:
    """A per-transport rate limit: `rate` units a second, bursts of a tenth of a second.

    SMS are counted in segments, as providers count their limits (a three-part message uses
    three of a sender's per-second allowance); e-mail in messages.
    """

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self._tokens = self.capacity
        self._last = time.monotonic()

    async def take(self, cost: int = 1) -> None:
        """Wait until a message of `cost` units (SMS: segments, as providers count) may leave."""
        while True:
            now = time.monotonic()
            room = max(self.capacity, float(cost))
            self._tokens = min(room, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= cost:
                self._tokens -= cost
                return
            await asyncio.sleep((cost - self._tokens) / self.rate)


def _note(job: Job, error: str | None) -> str | None:
    """The error to keep, still marked as a possible duplicate when it was taken over."""
    if not job.taken_over:
        return error
    return f"{POSSIBLE_DUPLICATE}; {error}" if error else POSSIBLE_DUPLICATE


async def send_job(
    transport: Transport | None, job: Job, message: OutgoingMessage | None = None
) -> Outcome:
    """Hand one message to its transport; every failure becomes an Outcome, never an exception.

    `message` replaces the job's own (the same message with its PDF attached).
    """
    message = message or job.message
    if message is None:
        return Outcome(job, error=job.problem or "nothing to send", permanent=True)
    if transport is None:
        return Outcome(job, error=f"no transport sends {job.channel!r}", permanent=True)
    try:
        return Outcome(job, result=await transport.send(message))
    except TransportError as exc:
        return Outcome(job, error=str(exc), permanent=exc.permanent, throttled=exc.throttled)
    except Exception as exc:  # a transport bug must not kill the worker; retried, then failed
        logger.exception("delivery %s: unexpected error from %s", job.id, job.channel)
        return Outcome(job, error=f"{type(exc).__name__}: {exc}", permanent=False)


_TABLE = cast(sa.Table, Delivery.__table__)
_SENT = sa.update(_TABLE).where(
    _TABLE.c.id == sa.bindparam("b_id"),
    # A message the provider accepted was sent, even if the notice was cancelled meanwhile.
    # (OR, not IN: an expanding IN cannot be used with executemany.)
    sa.or_(
        _TABLE.c.status == DeliveryStatus.sending,
        _TABLE.c.status == DeliveryStatus.planned,
        _TABLE.c.status == DeliveryStatus.cancelled,
    ),
)
_RETRY = sa.update(_TABLE).where(
    _TABLE.c.id == sa.bindparam("b_id"),
    _TABLE.c.lease_owner == sa.bindparam("b_owner"),
    _TABLE.c.status == DeliveryStatus.sending,
)


def record_outcomes(
    session: Session,
    worker_id: str,
    outcomes: Sequence[Outcome],
    *,
    builder: MessageBuilder,
    retry: RetryPolicy,
    hooks: bool = True,
) -> Counter[str]:
    """Write the outcomes of finished sends in one transaction; counts by kind.

    A temporary error is retried after a backoff unless that would pass the delivery's
    deadline (Job.give_up_at): then it fails and falls back, as a permanent error does at once.
    `hooks` False: the caller knows no webhook subscription wants delivery events, so none is
    looked for (every round trip here holds the worker's concurrency slots until the commit).
    """
    now = utcnow()
    counts: Counter[str] = Counter()
    # Rows are locked in id order, whoever records: two workers recording the same delivery
    # (a lease taken over) wait for each other rather than deadlock.
    outcomes = sorted(outcomes, key=lambda o: o.job.id)
    sent = [(o.job, o.result) for o in outcomes if o.result is not None]
    # Webhooks: events are written in this transaction, once per delivery that this
    # transaction moves (sent, or failed for good); nothing more when nobody subscribed.
    takers = delivery_subscriptions(session) if hooks else []
    moved: list[int] = []
    if sent and takers:
        moved += _still_unsent(session, [job.id for job, _ in sent])
    if sent:
        ask_at = now + timedelta(seconds=builder.settings.reconcile_after_seconds)
        changed = session.execute(
            _SENT.values(
                status=DeliveryStatus.sent,
                # Every attempt counts, the one that succeeded too (failures count below).
                attempts=sa.bindparam("b_attempts"),
                provider_id=sa.bindparam("b_provider"),
                sent_at=now,
                lease_expires_at=None,
                reconcile_at=sa.bindparam("b_reconcile"),
                # A worker whose lease ran out mid-send records without owning the claim: the
                # marking the taker-over set stays, so the possible duplicate is still counted.
                last_error=sa.case(
                    (
                        _TABLE.c.last_error.startswith(POSSIBLE_DUPLICATE, autoescape=True),
                        POSSIBLE_DUPLICATE,
                    ),
                    else_=sa.bindparam("b_note"),
                ),
            ),
            [
                {
                    "b_id": job.id,
                    "b_attempts": job.attempts + 1,
                    "b_provider": result.provider_id,
                    "b_note": _note(job, None),
                    # Asked about later if no receipt comes (service.delivery.reconcile).
                    "b_reconcile": ask_at if result.transport in DELIVERY_RECEIPTS else None,
                }
                for job, result in sent
            ],
        ).rowcount  # type: ignore[attr-defined]
        if changed != len(sent):
            # Another worker took over an expired lease and recorded its own send first; both
            # sends get a SentMessage row (an e-mail's shared Message-ID keeps one).
            logger.warning("%d messages were sent twice (lease taken over)", len(sent) - changed)
        record_sent_many(session, [(job.message, result) for job, result in sent if job.message])
        counts["sent"] = len(sent)
    retries = []
    for o in outcomes:
        if o.result is not None:
            continue
        delay = 0.0 if o.deferred else retry.delay(o.job.attempts + 1)
        late = o.job.give_up_at is not None and now + timedelta(seconds=delay) > o.job.give_up_at
        if o.permanent or late:
            if _fail(session, worker_id, o, builder):
                counts["failed"] += 1
                moved.append(o.job.id)
        else:
            retries.append((o, delay))
    if retries:
        session.execute(
            _RETRY.values(
                status=DeliveryStatus.planned,
                attempts=sa.bindparam("b_attempts"),
                next_attempt_at=sa.bindparam("b_next"),
                last_error=sa.bindparam("b_error"),
                lease_expires_at=None,
            ),
            [
                {
                    "b_id": o.job.id,
                    "b_owner": worker_id,
                    "b_attempts": o.job.attempts + (0 if o.deferred else 1),
                    "b_next": now + timedelta(seconds=delay),
                    "b_error": _note(o.job, o.error),
                }
                for o, delay in retries
            ],
        )
        counts["retried"] = sum(1 for o, _ in retries if not o.deferred)
        counts["deferred"] = sum(1 for o, _ in retries if o.deferred)
    if takers:
        emit_deliveries(session, moved, takers)
    return counts


def _still_unsent(session: Session, ids: list[int]) -> list[int]:
    """Which of these deliveries the sent-update below will move, locked until the commit.

    A slow worker whose lease was taken over records its send too; only the first recording
    moves the delivery to `sent`, so only that one is an event.
    """
    return list(
        session.scalars(
            sa.select(Delivery.id)
            .where(
                Delivery.id.in_(ids),
                Delivery.status.in_(
                    [DeliveryStatus.sending, DeliveryStatus.planned, DeliveryStatus.cancelled]
                ),
            )
            .order_by(Delivery.id)
            .with_for_update()
        )
    )


def _fail(session: Session, worker_id: str, outcome: Outcome, builder: MessageBuilder) -> int:
    """Fail one delivery with its reason, then try the next channel; 1 if it was still ours."""
    delivery = session.scalars(
        sa.select(Delivery)
        .where(
            Delivery.id == outcome.job.id,
            Delivery.lease_owner == worker_id,
            Delivery.status == DeliveryStatus.sending,
        )
        # Locked: a worker claiming it after an expired lease cannot be overwritten below.
        .with_for_update()
    ).first()
    if delivery is None:
        return 0
    attempts = outcome.job.attempts + (0 if outcome.deferred else 1)
    reason = outcome.error or "failed"
    if not outcome.permanent:
        reason = f"gave up at the deadline after {attempts} attempts; last error: {reason}"
    delivery.status = DeliveryStatus.failed
    delivery.attempts = attempts
    delivery.last_error = _note(outcome.job, reason)
    delivery.lease_expires_at = None
    try:
        notice, _code = builder.notice(session, delivery.notice_id)
    except Exception:  # nothing to fall back to without a usable notice
        logger.exception("delivery %s failed; its notice cannot be read", delivery.id)
        return 1
    fall_back(session, delivery, notice, builder.library)
    return 1
