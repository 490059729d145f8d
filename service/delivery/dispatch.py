"""Sending claimed deliveries: render once per variant, send, and record every outcome.

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

from service.audiences.schemas import Register, Role
from service.channels.base import Attachment, OutgoingMessage, SendResult, Transport, TransportError
from service.channels.status import record_sent_many
from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.choose import Assignment
from service.delivery.fallback import fall_back
from service.delivery.models import Delivery, DeliveryStatus
from service.delivery.send_now import outgoing
from service.notices.links import notice_url, variant_url
from service.notices.models import NoticeRecord
from service.notices.publish import load_stored_notice
from service.notices.schemas import Channel
from service.notices.service import Notice
from service.recipients.schemas import Recipient
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from service.variants.plan import variant_key

logger = logging.getLogger(__name__)

# Marks a delivery claimed after a lease expired: the worker that held it may have sent it, so
# the message may reach the person twice. Tracking counts these (last_error starts with it).
POSSIBLE_DUPLICATE = "possible duplicate: a worker's lease expired while it was sending this"
# Caches are per worker process; a long-running worker forgets old notices instead of growing.
_CACHE_LIMIT = 2000
_NOBODY = Recipient(name="")  # `outgoing` never reads the recipient


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter between attempts after temporary errors."""

    base_seconds: float = 1.0
    cap_seconds: float = 300.0

    def delay(self, attempts: int) -> float:
        """Seconds to wait after the `attempts`-th failed attempt (full jitter spreads retries)."""
        ceiling = min(self.cap_seconds, self.base_seconds * 2 ** max(attempts - 1, 0))
        return random.uniform(0, ceiling)


@dataclass(frozen=True, eq=False)
class Job:
    """A claimed delivery and its message; plain data, so it can cross threads.

    Compared by identity: a delivery claimed again later is a different job.
    """

    id: int
    channel: str
    attempts: int
    message: OutgoingMessage | None
    problem: str | None = None  # why it can never be sent (a permanent failure)
    taken_over: bool = False  # claimed after another worker's lease expired mid-send
    outbox_only: bool = False  # the notice came from a test key: outbox transports only


@dataclass(frozen=True)
class Outcome:
    """What one attempt to send a job came to."""

    job: Job
    result: SendResult | None = None
    error: str | None = None
    permanent: bool = False


class TokenBucket:
    """A per-transport rate limit: `rate` messages per second, bursts of a tenth of a second."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate / 10)
        self._tokens = self.capacity
        self._last = time.monotonic()

    async def take(self) -> None:
        """Wait until a message may leave."""
        while True:
            now = time.monotonic()
            self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return
            await asyncio.sleep((1 - self._tokens) / self.rate)


class MessageBuilder:
    """Turns claimed deliveries into messages; notices and variants are rendered once each."""

    def __init__(self, settings: Settings, library: ContentLibrary) -> None:
        self.settings = settings
        self.library = library
        self._notices: dict[int, tuple[Notice, str]] = {}
        self._outbox_only: dict[int, bool] = {}
        self._variants: dict[tuple[int, VariantKey], RenderedVariant] = {}
        self._pdfs: dict[tuple[int, VariantKey], Attachment] = {}

    def notice(self, session: Session, notice_id: int) -> tuple[Notice, str]:
        """The validated notice and its public code (raises if the stored notice is unusable)."""
        if notice_id not in self._notices:
            if len(self._notices) > _CACHE_LIMIT:
                self._notices.clear()
            record = session.get(NoticeRecord, notice_id)
            if record is None:
                raise LookupError(f"notice {notice_id} does not exist")
            self._notices[notice_id] = (load_stored_notice(record, self.library), record.code)
            self._outbox_only[notice_id] = bool(record.outbox_only)
        return self._notices[notice_id]

    def _variant(
        self, notice_id: int, notice: Notice, code: str, key: VariantKey
    ) -> RenderedVariant:
        if (notice_id, key) not in self._variants:
            if len(self._variants) > _CACHE_LIMIT:
                self._variants.clear()
            url = variant_url(notice_url(self.settings, code), key)
            self._variants[notice_id, key] = render_variant(
                notice, key, self.library, public_url=url
            )
        return self._variants[notice_id, key]

    def _pdf(self, notice_id: int, notice: Notice, code: str, key: VariantKey) -> Attachment:
        """The printable notice an e-mail carries (for audiences that want it)."""
        from service.channels.print.pdf import render_pdf  # WeasyPrint: loaded only if needed

        if (notice_id, key) not in self._pdfs:
            if len(self._pdfs) > _CACHE_LIMIT:
                self._pdfs.clear()
            variant = self._variant(notice_id, notice, code, key)
            data = render_pdf(
                variant, title=variant.subject, language=self.library.languages[key.language]
            )
            name = f"{notice.scenario.id}-{key.language}.pdf"
            self._pdfs[notice_id, key] = Attachment(name, "application/pdf", data)
        return self._pdfs[notice_id, key]

    def job(self, session: Session, delivery: Delivery) -> Job:
        """The message for one delivery, or the reason none can be made."""
        taken_over = (delivery.last_error or "").startswith(POSSIBLE_DUPLICATE)
        base = Job(delivery.id, delivery.channel, delivery.attempts, None, None, taken_over)
        if not delivery.address:
            return _problem(base, "no address: the recipient was deleted from the register")
        try:
            notice, code = self.notice(session, delivery.notice_id)
            channel = Channel(delivery.channel)
            key = VariantKey(
                delivery.language, Register(delivery.register), Role(delivery.role), channel
            )
            variant = self._variant(delivery.notice_id, notice, code, key)
            profile = self.library.audiences.get(delivery.audience)
            if profile is None:
                raise LookupError(f"unknown audience profile {delivery.audience!r}")
            attachment = None
            if (
                channel == Channel.email
                and profile.extras.email_pdf
                and Channel.print in notice.envelope.channels
            ):
                print_key = variant_key(profile, delivery.language, Channel.print)
                attachment = self._pdf(delivery.notice_id, notice, code, print_key)
        except Exception as exc:  # a notice or variant we cannot render can never be sent
            reason = f"could not build the message: {type(exc).__name__}: {exc}"
            logger.warning("delivery %s: %s", delivery.id, reason)
            return _problem(base, reason)
        assignment = Assignment(_NOBODY, channel, delivery.address, profile, key)
        message = outgoing(assignment, variant, f"d{delivery.id}", attachment)
        outbox_only = self._outbox_only.get(delivery.notice_id, False)
        return Job(
            delivery.id, delivery.channel, delivery.attempts, message, None, taken_over, outbox_only
        )


def _problem(job: Job, reason: str) -> Job:
    return Job(job.id, job.channel, job.attempts, None, reason, job.taken_over)


def _note(job: Job, error: str | None) -> str | None:
    """The error to keep, still marked as a possible duplicate when it was taken over."""
    if not job.taken_over:
        return error
    return f"{POSSIBLE_DUPLICATE}; {error}" if error else POSSIBLE_DUPLICATE


async def send_job(transport: Transport | None, job: Job) -> Outcome:
    """Hand one message to its transport; every failure becomes an Outcome, never an exception."""
    if job.message is None:
        return Outcome(job, error=job.problem or "nothing to send", permanent=True)
    if transport is None:
        return Outcome(job, error=f"no transport sends {job.channel!r}", permanent=True)
    try:
        return Outcome(job, result=await transport.send(job.message))
    except TransportError as exc:
        return Outcome(job, error=str(exc), permanent=exc.permanent)
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
    max_attempts: int,
    retry: RetryPolicy,
) -> Counter[str]:
    """Write the outcomes of finished sends in one transaction; counts by kind."""
    now = utcnow()
    counts: Counter[str] = Counter()
    sent = [(o.job, o.result) for o in outcomes if o.result is not None]
    if sent:
        changed = session.execute(
            _SENT.values(
                status=DeliveryStatus.sent,
                provider_id=sa.bindparam("b_provider"),
                sent_at=now,
                lease_expires_at=None,
                last_error=sa.bindparam("b_note"),
            ),
            [
                {"b_id": job.id, "b_provider": result.provider_id, "b_note": _note(job, None)}
                for job, result in sent
            ],
        ).rowcount  # type: ignore[attr-defined]
        if changed != len(sent):
            # Another worker took over an expired lease and recorded its own send first.
            logger.warning("%d messages were sent twice (lease taken over)", len(sent) - changed)
        record_sent_many(session, [(job.message, result) for job, result in sent if job.message])
        counts["sent"] = len(sent)
    retries = []
    for o in outcomes:
        if o.result is not None:
            continue
        if o.permanent or o.job.attempts + 1 >= max_attempts:
            counts["failed"] += _fail(session, worker_id, o, builder)
        else:
            retries.append(o)
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
                    "b_attempts": o.job.attempts + 1,
                    "b_next": now + timedelta(seconds=retry.delay(o.job.attempts + 1)),
                    "b_error": _note(o.job, o.error),
                }
                for o in retries
            ],
        )
        counts["retried"] = len(retries)
    return counts


def _fail(session: Session, worker_id: str, outcome: Outcome, builder: MessageBuilder) -> int:
    """Fail one delivery with its reason, then try the next channel; 1 if it was still ours."""
    delivery = session.scalars(
        sa.select(Delivery).where(
            Delivery.id == outcome.job.id,
            Delivery.lease_owner == worker_id,
            Delivery.status == DeliveryStatus.sending,
        )
    ).first()
    if delivery is None:
        return 0
    attempts = outcome.job.attempts + 1
    reason = outcome.error or "failed"
    if not outcome.permanent:
        reason = f"gave up after {attempts} attempts; last error: {reason}"
    delivery.status = DeliveryStatus.failed
    delivery.attempts = attempts
    delivery.last_error = reason
    delivery.lease_expires_at = None
    try:
        notice, _code = builder.notice(session, delivery.notice_id)
    except Exception:  # nothing to fall back to without a usable notice
        logger.exception("delivery %s failed; its notice cannot be read", delivery.id)
        return 1
    fall_back(session, delivery, notice, builder.library)
    return 1
