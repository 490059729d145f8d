"""Two `klarvarsel scheduler` processes on PostgreSQL: each fire time fires once, and when the
active one is killed (SIGKILL) the other takes over within the bounded time.

Real processes on the machine's own clock (as in production); the schedules are one-off test
broadcasts spread over a few seconds.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.content import ContentLibrary
from service.exercises.models import FiringRecord, ScheduleRecord
from service.notices.models import NoticeRecord
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.conftest import ROOT
from tests.exercises.conftest import make_settings, person, register, schedule

pytestmark = pytest.mark.postgres

LOCK_RETRY = 0.5
TICK = 0.1
INJECTS = 10
# Takeover: the lock goes when the killed process's connection closes; the standby tries every
# LOCK_RETRY and then warms up (content, readability) for its first firing. The slack is for a
# loaded two-core machine.
TAKEOVER_BOUND = LOCK_RETRY + TICK + 20.0


class SchedulerProcess:
    """`python -m service.exercises.scheduler_cli` with settings in its environment."""

    def __init__(self, url: str, tmp_path: Path) -> None:
        environment = {
            **os.environ,
            "KLARVARSEL_DATABASE_URL": url,
            "KLARVARSEL_VAR_DIR": str(tmp_path / "var"),
            "KLARVARSEL_PUBLIC_BASE_URL": "https://kris.vasteras.se",
            "KLARVARSEL_SCHEDULER_TICK_SECONDS": str(TICK),
            "KLARVARSEL_SCHEDULER_LOCK_RETRY_SECONDS": str(LOCK_RETRY),
        }
        environment.pop("KLARVARSEL_CLOCK_START", None)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.exercises.scheduler_cli"],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def started(self, seconds: float = 60) -> tuple[str, bool]:
        """This scheduler's id, and whether it started as the active one."""
        deadline = time.monotonic() + seconds
        while True:
            for line in self.lines:
                found = re.search(r"scheduler (\S+) started, (active|standing by)", line)
                if found:
                    return found.group(1), found.group(2) == "active"
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, self.output
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def processes() -> Iterator[list[SchedulerProcess]]:
    started: list[SchedulerProcess] = []
    yield started
    for process in started:
        process.stop()


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def wall_clock() -> datetime:
    """The machine's own time: the scheduler processes run on it, unpinned."""
    return datetime.fromtimestamp(time.time(), UTC)


def recorded(engine: Engine) -> list[FiringRecord]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(FiringRecord).order_by(FiringRecord.fire_time)))


def test_two_scheduler_processes_fire_each_job_once_and_the_second_takes_over(
    pg_engine: Engine,
    postgres_url: str,
    library: ContentLibrary,
    tmp_path: Path,
    processes: list[SchedulerProcess],
) -> None:
    register(pg_engine, person("Övare", exercise=True, phone="+46701740601"))
    for _ in range(2):
        processes.append(SchedulerProcess(postgres_url, tmp_path))
    ids = [p.started() for p in processes]
    assert sorted(active for _, active in ids) == [False, True], [p.output for p in processes]
    active = next(p for p, (_, on) in zip(processes, ids, strict=True) if on)
    standby = next(p for p in processes if p is not active)
    active_id, standby_id = (next(i for i, on in ids if on), next(i for i, on in ids if not on))

    settings = make_settings(tmp_path, postgres_url)
    later = wall_clock() + timedelta(hours=1)
    added = [
        schedule(pg_engine, library, settings, f"prov-{n}", now=wall_clock(), run_at=later)
        for n in range(INJECTS)
    ]
    # Then due in a few seconds, one every 0.8 s (adding them checks each notice: slow).
    start = wall_clock() + timedelta(seconds=2)
    with session_scope(pg_engine) as session:
        for number, schedule_id in enumerate(added):
            found = session.get(ScheduleRecord, schedule_id)
            assert found is not None
            found.run_at = found.next_fire_at = start + timedelta(seconds=number * 0.8)
    deadline = time.monotonic() + 120
    while len(recorded(pg_engine)) < 3:
        assert time.monotonic() < deadline, active.output
        time.sleep(0.02)
    active.process.send_signal(signal.SIGKILL)
    killed_at = wall_clock()
    assert active.process.wait(timeout=10) == -signal.SIGKILL
    while [f.status for f in recorded(pg_engine)] != ["sent"] * INJECTS:
        assert time.monotonic() < deadline, standby.output
        time.sleep(0.05)
    time.sleep(2 * LOCK_RETRY)  # anything fired twice would show by now

    firings = recorded(pg_engine)
    assert len(firings) == INJECTS and {f.status for f in firings} == {"sent"}
    assert len({(f.schedule_id, f.fire_time) for f in firings}) == INJECTS
    with session_scope(pg_engine) as session:
        published = session.scalar(sa.select(sa.func.count()).select_from(NoticeRecord))
    assert published == INJECTS  # one notice per fire time: nothing was sent twice
    by = {f.scheduler_id for f in firings}
    assert by == {active_id, standby_id}, by
    taken_over = [f for f in firings if f.scheduler_id == standby_id]
    first_after = min(f.handled_at.replace(tzinfo=UTC) for f in taken_over)
    # The standby fired nothing while the first was alive, and took over within the bound.
    assert first_after > killed_at
    assert (first_after - killed_at).total_seconds() < TAKEOVER_BOUND, standby.output
    assert "is now the active scheduler" in standby.output
