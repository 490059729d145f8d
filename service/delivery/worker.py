"""Dispatch workers: claim deliveries with a lease, send them, record every outcome.

Semantics are at-least-once. A claim sets status `sending` with a lease; a worker that dies
leaves its claims to expire, and any worker then claims them again. On PostgreSQL any number of
workers claim with `FOR UPDATE SKIP LOCKED`, so no two hold the same delivery; on SQLite one
worker runs (SQLite serialises writers). Messages sent but not yet recorded when a worker dies
are sent again: at most `worker_concurrency` of them (see service.delivery.dispatch). Their
first sends leave no SentMessage row; the deliveries taken over carry the possible-duplicate
marking (service.delivery.models.POSSIBLE_DUPLICATE), which tracking counts.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.channels.base import OutgoingMessage, Transport
from service.channels.transports import make_outbox_transports, make_transports
from service.clock import utcnow
from service.config import Settings
from service.content import ContentLibrary, get_library
from service.delivery.circuits import (
    CircuitState,
    note_results,
    read_circuits,
    take_probe,
    waiting_text,
)
from service.delivery.dispatch import (
    Outcome,
    RetryPolicy,
    TokenBucket,
    circuit_answers,
    record_outcomes,
    send_job,
)
from service.delivery.leases import (
    claim,
    new_worker_id,
    release,
    renew_leases,
    still_ours,
    work_left,
)
from service.delivery.messages import Job, MessageBuilder
from service.delivery.pdf_attachments import PdfAttacher
from service.delivery.receipts import apply_receipts_forever
from service.delivery.reconcile import reconcile_forever
from service.notices.schemas import Channel
from service.store.database import make_engine, session_scope
from service.webhooks.events import wants_delivery_events

logger = logging.getLogger(__name__)
T = TypeVar("T")

CHANNELS = ("sms", "email")  # the channels a worker sends; print and web are published
IDLE_SECONDS = 0.1  # nap when nothing is due: the first message leaves well within a second
CHECK_SECONDS = 0.2  # how often claims are checked for cancellation or takeover
RECORD_BATCH = 1000  # outcomes per recording transaction, at most
RECORD_TRIES = 8  # attempts to record outcomes while the database is unavailable


@dataclass
class WorkerStats:
    """What a worker did: outcomes recorded, and claims it dropped or gave back."""

    sent: int = 0
    retried: int = 0
    failed: int = 0
    deferred: int = 0  # claims given back unsent because their provider's circuit was open
    dropped: int = 0  # claims cancelled or taken over before they were sent
    released: int = 0  # unsent claims given back at a clean stop
    receipts: int = 0  # provider receipts applied from the inbox


def run_worker(
    settings: Settings,
    *,
    stop_event: threading.Event,
    once: bool = False,
    engine: Engine | None = None,
    library: ContentLibrary | None = None,
    retry: RetryPolicy | None = None,
    worker_id: str | None = None,
) -> WorkerStats:
    """Run a worker until `stop_event` is set (or, with `once`, until no work is left).

    `engine` defaults to one for settings.effective_database_url; `retry` to the settings'
    backoff (1 s doubling up to 5 minutes).
    """
    own_engine = engine is None
    engine = engine or make_engine(settings.effective_database_url)
    try:
        loop = _Loop(
            settings,
            engine,
            library or get_library(settings),
            retry or RetryPolicy.from_settings(settings),
            worker_id or new_worker_id(),
            stop_event,
        )
        return asyncio.run(loop.run(once=once))
    finally:
        if own_engine:
            engine.dispose()


class _Loop:
    """One worker's event loop: a lane per channel, bounded sends, outcomes group-committed.

    Database work runs in two threads of its own (claims and lease checks; outcomes), so a
    claim never holds up recording and sending never waits for either.
    """

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        library: ContentLibrary,
        retry: RetryPolicy,
        worker_id: str,
        stop_event: threading.Event,
    ) -> None:
        self.settings, self.engine, self.retry = settings, engine, retry
        self.worker_id, self.stop_event = worker_id, stop_event
        self.builder = MessageBuilder(settings, library)
        self.stats = WorkerStats()
        self.held: dict[int, Job] = {}  # claimed and not yet recorded, by delivery id
        # When each held job's lease ends (time.monotonic()), as far as this worker knows; 0
        # when it was cancelled or taken over. A job is sent only well before its lease ends.
        self.deadline: dict[Job, float] = {}
        self.margin = min(settings.worker_lease_seconds / 4, 5.0)
        self.pending: list[tuple[Outcome, asyncio.Future[None]]] = []
        self.circuits: dict[str, CircuitState] = {}  # as last read or written
        self.probes: dict[str, Job] = {}  # the probe this worker sends, per channel
        # Whether a webhook subscription wants delivery events, as last read beside the
        # circuits (every CHECK_SECONDS): when none does, recording asks nothing more.
        self.hooks = True

    async def _db(self, pool: ThreadPoolExecutor, func: Callable[[Session], T]) -> T:
        def in_session() -> T:
            with session_scope(self.engine) as session:
                return func(session)

        return await asyncio.get_running_loop().run_in_executor(pool, in_session)

    async def run(self, *, once: bool) -> WorkerStats:
        """Claim and send until stopped; then finish what is in flight and give back the rest."""
        self.claims = ThreadPoolExecutor(1, thread_name_prefix="kv-claims")
        self.records = ThreadPoolExecutor(1, thread_name_prefix="kv-records")
        self.receipts = ThreadPoolExecutor(1, thread_name_prefix="kv-receipts")
        self.pdfs = PdfAttacher(self.builder)  # beside dispatch, never in the claim thread
        self.stopping = asyncio.Event()
        self.recorder_wake = asyncio.Event()
        self.slots = asyncio.Semaphore(self.settings.worker_concurrency)
        self.queues: dict[str, asyncio.Queue[Job | None]] = {c: asyncio.Queue() for c in CHANNELS}
        self.in_flight: set[asyncio.Task[None]] = set()
        transports = make_transports(self.settings)
        # A test key's notices go to the outbox whatever is configured (see accounts).
        self.outbox = make_outbox_transports(self.settings)
        rates = {
            "sms": self.settings.sms_rate_per_second,
            "email": self.settings.email_rate_per_second,
        }
        lanes = [
            asyncio.create_task(self._lane(c, transports.get(Channel(c)), TokenBucket(rates[c])))
            for c in CHANNELS
        ]
        helpers = [
            asyncio.create_task(self._recorder()),
            asyncio.create_task(self._keep_leases()),
            asyncio.create_task(self._watch_stop()),
            asyncio.create_task(
                apply_receipts_forever(
                    partial(self._db, self.receipts),
                    self.builder.library,
                    self.settings.receipt_batch_size,
                    self._count_receipts,
                )
            ),
        ]
        fetch = getattr(transports.get(Channel.sms), "fetch_status", None)
        if fetch is not None:  # a provider that can be asked about its messages
            asker = reconcile_forever(
                partial(self._db, self.receipts), fetch, self.settings, self.builder.library
            )
            helpers.append(asyncio.create_task(asker))
        try:  # before it says it has started: its first claim then builds at full speed
            await asyncio.get_running_loop().run_in_executor(self.claims, self.builder.warm_up)
        except Exception:  # rendered when needed instead; a broken template fails its jobs
            logger.exception("worker %s could not load the templates", self.worker_id)
        logger.info("worker %s started", self.worker_id)
        try:
            await self._claim_loop(once)
        finally:
            self._stop()
            await asyncio.gather(*lanes, return_exceptions=True)
            await asyncio.gather(*self.in_flight, return_exceptions=True)
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)
            unsent = list(self.held)
            try:
                self.stats.released = await self._db(
                    self.claims, lambda s: release(s, self.worker_id, unsent)
                )
            except Exception:  # their leases expire instead
                logger.exception(
                    "worker %s could not give back %d claims", self.worker_id, len(unsent)
                )
            for transport in [*transports.values(), *self.outbox.values()]:
                close = getattr(transport, "aclose", None)
                if close is not None:
                    await close()
            self.claims.shutdown()
            self.records.shutdown()
            self.receipts.shutdown()
            self.pdfs.shutdown()
            logger.info("worker %s stopped: %s", self.worker_id, self.stats)
        return self.stats

    def _count_receipts(self, applied: int) -> None:
        self.stats.receipts += applied

    def _stop(self) -> None:
        self.stopping.set()
        for queue in self.queues.values():
            queue.put_nowait(None)  # wakes a lane waiting for work

    async def _watch_stop(self) -> None:
        while not self.stop_event.is_set():
            await asyncio.sleep(0.05)
        self._stop()

    def _claim_and_build(
        self, channels: list[str], holding: list[int], probes: list[str]
    ) -> list[Job]:
        s = self.settings
        jobs: list[Job] = []
        for channel in probes:
            # One message tests a provider that was down; only the worker that takes the
            # probe sends it, so the others keep waiting.
            with session_scope(self.engine) as session:
                if not take_probe(session, channel, s.twilio_timeout_seconds * 2 + 5):
                    continue
            with session_scope(self.engine) as session:
                found = claim(
                    session,
                    self.worker_id,
                    1,
                    s.worker_lease_seconds,
                    channels=[channel],
                    exclude=holding,
                )
            with session_scope(self.engine) as session:
                for delivery in found:
                    job = self.builder.job(session, delivery)
                    self.probes[channel] = job
                    jobs.append(job)
        if not channels:
            return jobs
        with session_scope(self.engine) as session:  # the claim commits on its own
            deliveries = claim(
                session,
                self.worker_id,
                s.worker_batch_size,
                s.worker_lease_seconds,
                channels=channels,
                exclude=holding,
            )
        with session_scope(self.engine) as session:
            return jobs + [self.builder.job(session, d) for d in deliveries]

    async def _claim_loop(self, once: bool) -> None:
        low_water = max(1, self.settings.worker_batch_size // 2)
        try:  # a worker that starts during an outage does not hammer the provider
            self.circuits = await self._db(self.claims, read_circuits)
            self.hooks = await self._db(self.claims, wants_delivery_events)
        except Exception:
            logger.exception("worker %s could not read the circuits", self.worker_id)
        while not self.stopping.is_set():
            now = utcnow()
            room, probes = [], []
            for c, q in self.queues.items():
                circuit = self.circuits.get(c)
                if circuit is None or not circuit.blocked(now):
                    if q.qsize() < low_water:
                        room.append(c)
                elif circuit.probe_due(now) and c not in self.probes:
                    probes.append(c)
            if not room and not probes and not self._blocked_anywhere(now):
                await asyncio.sleep(0.01)  # every lane is full
                continue
            claimed_at = time.monotonic()
            try:
                jobs = await asyncio.get_running_loop().run_in_executor(
                    self.claims, self._claim_and_build, room, list(self.held), probes
                )
                done = (
                    once
                    and not jobs
                    and not self.held
                    and not await self._db(self.claims, work_left)
                )
            except Exception:  # the database may be back in a moment: never die of a blip
                logger.exception("worker %s could not claim deliveries", self.worker_id)
                await asyncio.sleep(1.0)
                continue
            if done:
                return
            for job in jobs:
                self.held[job.id] = job
                self.deadline[job] = claimed_at + self.settings.worker_lease_seconds
                self.queues[job.channel].put_nowait(job)
            if jobs:
                continue
            # Idle: a short nap, so a newly planned message leaves well within a second.
            await asyncio.sleep(IDLE_SECONDS)

    async def _lane(self, channel: str, transport: Transport | None, bucket: TokenBucket) -> None:
        queue = self.queues[channel]
        while (job := await queue.get()) is not None and not self.stopping.is_set():
            if not self._sendable(job):
                self._forget(job)
                continue
            if self._waiting(job):
                task = asyncio.create_task(self._settle(job, self._deferral(job), slot=False))
                self.in_flight.add(task)
                task.add_done_callback(self.in_flight.discard)
                continue
            message = job.message
            if job.pdf is not None and message is not None:
                # Waits in the e-mail lane only, holding no sending slot.
                attached = await self.pdfs.attach(job)
                if isinstance(attached, Outcome):
                    task = asyncio.create_task(self._settle(job, attached, slot=False))
                    self.in_flight.add(task)
                    task.add_done_callback(self.in_flight.discard)
                    continue
                message = attached
                if self.stopping.is_set():
                    break
            await bucket.take(job.cost)
            await self.slots.acquire()
            if self.stopping.is_set() or not self._sendable(job):
                self.slots.release()
                if not self.stopping.is_set():
                    self._forget(job)
                continue
            chosen = self.outbox.get(Channel(channel)) if job.outbox_only else transport
            task = asyncio.create_task(self._send(chosen, job, message))
            self.in_flight.add(task)
            task.add_done_callback(self.in_flight.discard)

    def _sendable(self, job: Job) -> bool:
        """Still ours, as this very claim, with time left on the lease to send it."""
        deadline = self.deadline.get(job, 0.0)
        return self.held.get(job.id) is job and time.monotonic() < deadline - self.margin

    def _forget(self, job: Job) -> None:
        """Let a claim go unsent: cancelled, taken over, or its lease ran out (claimed again)."""
        self.deadline.pop(job, None)
        if self.held.get(job.id) is job:
            del self.held[job.id]
            self.stats.dropped += 1

    def _blocked_anywhere(self, now: datetime) -> bool:
        return any(c.blocked(now) for c in self.circuits.values())

    def _waiting(self, job: Job) -> bool:
        """Whether this job must wait: its provider's circuit is open and it is not the probe."""
        circuit = self.circuits.get(job.channel)
        if job.outbox_only or circuit is None or not circuit.blocked(utcnow()):
            return False
        return self.probes.get(job.channel) is not job

    def _deferral(self, job: Job) -> Outcome:
        circuit = self.circuits[job.channel]
        text = waiting_text(job.channel, circuit.since or utcnow(), self.settings.timezone)
        if circuit.last_error:
            text += f"; last error: {circuit.last_error}"
        return Outcome(job, error=text, deferred=True)

    async def _send(
        self, transport: Transport | None, job: Job, message: OutgoingMessage | None = None
    ) -> None:
        await self._settle(job, await send_job(transport, job, message), slot=True)

    async def _settle(self, job: Job, outcome: Outcome, *, slot: bool) -> None:
        try:
            future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self.pending.append((outcome, future))
            self.recorder_wake.set()
            # The slot is held until the outcome is committed: that bounds re-sends after a crash.
            await future
        finally:
            if self.held.get(job.id) is job:
                del self.held[job.id]
            self.deadline.pop(job, None)
            if self.probes.get(job.channel) is job:
                del self.probes[job.channel]
            if slot:
                self.slots.release()

    async def _recorder(self) -> None:
        while True:
            await self.recorder_wake.wait()
            self.recorder_wake.clear()
            while self.pending:
                batch, self.pending = self.pending[:RECORD_BATCH], self.pending[RECORD_BATCH:]
                await self._record([outcome for outcome, _ in batch])
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def _record(self, outcomes: list[Outcome]) -> None:
        s = self.settings
        answers = circuit_answers(outcomes)
        known = {c: self.circuits[c] for c in answers if c in self.circuits}

        def write(session: Session) -> tuple[Counter[str], list[CircuitState]]:
            counts = record_outcomes(
                session,
                self.worker_id,
                outcomes,
                builder=self.builder,
                retry=self.retry,
                hooks=self.hooks,
            )
            states = [
                note_results(session, c, r, s, known=known.get(c)) for c, r in answers.items()
            ]
            return counts, states

        for attempt in range(RECORD_TRIES):
            try:
                counts, states = await self._db(self.records, write)
            except Exception:
                logger.exception(
                    "could not record %d outcomes (try %d)", len(outcomes), attempt + 1
                )
                await asyncio.sleep(min(0.2 * 2**attempt, 5.0))
                continue
            for kind in ("sent", "retried", "failed", "deferred"):
                setattr(self.stats, kind, getattr(self.stats, kind) + counts[kind])
            for state in states:
                if state is not known.get(state.channel):  # not read: a fresher read stays
                    self.circuits[state.channel] = state
            return
        # The leases expire and these messages are sent again: at-least-once, never lost.
        logger.error("gave up recording %d outcomes; they will be sent again", len(outcomes))

    async def _keep_leases(self) -> None:
        """Renew our leases, and drop claims that were cancelled or taken over."""
        renew_every = self.settings.worker_lease_seconds / 3
        last_renewal = time.monotonic()
        while True:
            await asyncio.sleep(min(CHECK_SECONDS, renew_every))
            jobs = list(self.held.values())
            started = time.monotonic()
            renew = started - last_renewal >= renew_every
            if renew:
                last_renewal = started
            try:
                ours, circuits, self.hooks = await self._db(
                    self.claims, partial(self._check, [j.id for j in jobs], renew)
                )
                self.circuits = circuits
            except Exception:  # the next round tries again; leases last three rounds
                logger.exception("worker %s could not check its leases", self.worker_id)
                continue
            for job in jobs:
                if job not in self.deadline:
                    continue  # finished meanwhile
                if job.id not in ours:
                    self.deadline[job] = 0.0
                elif renew:
                    self.deadline[job] = started + self.settings.worker_lease_seconds

    def _check(
        self, ids: list[int], renew: bool, session: Session
    ) -> tuple[set[int], dict[str, CircuitState], bool]:
        """Our claims still held (renewed when `renew`), the circuits, and whether hooks listen."""
        if renew:
            ours = renew_leases(session, self.worker_id, ids, self.settings.worker_lease_seconds)
        else:
            ours = still_ours(session, self.worker_id, ids)
        return ours, read_circuits(session), wants_delivery_events(session)
