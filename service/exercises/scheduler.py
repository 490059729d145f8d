"""The scheduler process: APScheduler 3 drives the ticks; the database decides what fires.

APScheduler runs two jobs: `tick` (every `scheduler_tick_seconds`) fires what is due, and
`leadership` (every `scheduler_lock_retry_seconds`) takes the lock when it is free. The
schedules themselves live in our tables, not in APScheduler's job store: what fires, when, and
whether a late fire time still runs is computed by service.exercises.firing from the service
clock and the recorded firings, so it survives restarts, is the same in every process, and can
be tested at any date. Both jobs are referenced as importable "module:function" with plain
arguments; coalescing and misfire grace are set explicitly (a skipped tick is harmless: the next
one sees everything still due), and missed or failed jobs are logged.

Run it in the web process (`KLARVARSEL_IN_PROCESS_SCHEDULER`, the embedded default) or as
`klarvarsel scheduler` processes; `uvicorn --workers N` would start N schedulers, which is safe
(only the lock holder fires) but pointless.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from zoneinfo import ZoneInfo

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_MAX_INSTANCES,
    EVENT_JOB_MISSED,
    JobExecutionEvent,
)
from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from service.config import Settings
from service.content import ContentLibrary, get_library
from service.exercises.firing import fire_due
from service.exercises.leadership import Leadership
from service.store.database import make_engine

logger = logging.getLogger(__name__)

_RUNNING: dict[str, SchedulerService] = {}
_RUNNING_LOCK = threading.Lock()


def new_scheduler_id() -> str:
    """A name for this scheduler that says where it runs: host:pid:random."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


def tick(scheduler_id: str) -> None:
    """APScheduler job: fire what is due, if this process holds the lock."""
    service = _RUNNING.get(scheduler_id)
    if service is not None:
        service.tick()


def keep_leadership(scheduler_id: str) -> None:
    """APScheduler job: take the lock when it is free; notice when it is lost."""
    service = _RUNNING.get(scheduler_id)
    if service is not None:
        service.keep_leadership()


class SchedulerService:
    """One scheduler: a lock, an APScheduler that ticks, and the firing code."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        library: ContentLibrary | None = None,
        scheduler_id: str | None = None,
    ) -> None:
        self.settings = settings
        self._own_engine = engine is None
        self.engine = engine or make_engine(settings.effective_database_url)
        self.library = library or get_library()
        self.id = scheduler_id or new_scheduler_id()
        self.leadership = Leadership(self.engine, settings)
        self.active = threading.Event()  # set while this scheduler holds the lock
        self._tick_lock = threading.Lock()
        self._apscheduler: BackgroundScheduler | None = None
        self._last_error = ""

    def keep_leadership(self) -> None:
        """Take the lock if it is free, or check that it is still ours."""
        with self._tick_lock:
            was = self.active.is_set()
            now = self.leadership.acquire()
            if now and not was:
                logger.info("scheduler %s is now the active scheduler", self.id)
                self.active.set()
            elif was and not now:
                logger.warning("scheduler %s lost the lock; standing by", self.id)
                self.active.clear()

    def tick(self) -> None:
        """Fire everything due now (only the lock holder does)."""
        with self._tick_lock:
            if not self.active.is_set():
                return
            if not self.leadership.check():
                self.active.clear()
                return
            try:
                fire_due(self.engine, self.settings, self.library, scheduler_id=self.id)
                self._last_error = ""
            except Exception as exc:  # a bad tick must not stop the next one
                # Logged once per kind of error, not every second (an unmigrated database).
                if str(exc) != self._last_error:
                    logger.exception("scheduler %s: a tick failed", self.id)
                self._last_error = str(exc)

    def start(self) -> None:
        """Start ticking in background threads (returns at once)."""
        with _RUNNING_LOCK:
            _RUNNING[self.id] = self
        # APScheduler logs every tick at INFO and a tick still running at WARNING; both are
        # expected here (max_instances=1) and reported by our own listeners instead.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        scheduler = BackgroundScheduler(
            timezone=ZoneInfo(self.settings.timezone),
            executors={"default": ThreadPoolExecutor(2)},
            job_defaults={
                # Explicit, because APScheduler's defaults skip a late job silently.
                "coalesce": True,
                "misfire_grace_time": None,  # a late tick always runs (once)
                "max_instances": 1,
            },
        )
        scheduler.add_listener(self._job_event, EVENT_JOB_MISSED | EVENT_JOB_ERROR)
        scheduler.add_listener(self._overlap, EVENT_JOB_MAX_INSTANCES)
        scheduler.add_job(
            "service.exercises.scheduler:keep_leadership",
            "interval",
            seconds=self.settings.scheduler_lock_retry_seconds,
            args=[self.id],
            id="leadership",
        )
        scheduler.add_job(
            "service.exercises.scheduler:tick",
            "interval",
            seconds=self.settings.scheduler_tick_seconds,
            args=[self.id],
            id="tick",
        )
        self.keep_leadership()  # at once, not one interval later
        role = "active" if self.active.is_set() else "standing by (another scheduler is active)"
        logger.info("scheduler %s started, %s", self.id, role)
        scheduler.start()
        self._apscheduler = scheduler

    def _job_event(self, event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            logger.warning("scheduler %s: job %s missed its run time", self.id, event.job_id)
        elif event.exception is not None:
            logger.error("scheduler %s: job %s failed: %s", self.id, event.job_id, event.exception)

    def _overlap(self, event: JobExecutionEvent) -> None:
        logger.debug("scheduler %s: %s still running; this run skipped", self.id, event.job_id)

    def stop(self) -> None:
        """Stop ticking, wait for a tick in progress, and give the lock up."""
        if self._apscheduler is not None:
            self._apscheduler.shutdown(wait=True)
            self._apscheduler = None
        with self._tick_lock:
            self.leadership.release()
            self.active.clear()
        with _RUNNING_LOCK:
            _RUNNING.pop(self.id, None)
        if self._own_engine:
            self.engine.dispose()
        logger.info("scheduler %s stopped", self.id)


def start_in_process(settings: Settings) -> Callable[[], None]:
    """Start the web process's scheduler if configured; returns the function that stops it."""
    if not settings.in_process_scheduler:
        return lambda: None
    service = SchedulerService(settings)
    service.start()
    return service.stop


def run_scheduler(settings: Settings, *, stop_event: threading.Event) -> None:
    """Run one scheduler until `stop_event` is set (the `klarvarsel scheduler` command)."""
    service = SchedulerService(settings)
    service.start()
    try:
        stop_event.wait()
    finally:
        service.stop()
