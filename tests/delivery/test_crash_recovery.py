"""A worker process killed with SIGKILL mid-run loses nothing; a restarted one finishes the job.

The worker is the real `klarvarsel worker` entry point in a process of its own, against a file
SQLite database or PostgreSQL and the local Twilio server (in this process, so the test can
count what reached it).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.models import SentMessage
from service.delivery.models import POSSIBLE_DUPLICATE, Delivery
from service.delivery.tracking import progress
from service.store.database import session_scope
from tests.conftest import ROOT
from tests.delivery.test_worker import engine, fake, messages_per_number, seed, statuses
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

__all__ = ["engine", "fake"]  # fixtures shared with test_worker.py

CONCURRENCY = 20


class WorkerProcess:
    """`python -m service.delivery.worker_cli` with settings in its environment; output kept."""

    def __init__(self, url: str, fake: FakeTwilio, tmp_path: Path, *args: str, **env: str) -> None:
        environment = {
            **os.environ,
            "KLARVARSEL_DATABASE_URL": url,
            "KLARVARSEL_VAR_DIR": str(tmp_path / "var"),
            "KLARVARSEL_SMS_TRANSPORT": "twilio",
            "KLARVARSEL_TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "KLARVARSEL_TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "KLARVARSEL_TWILIO_FROM": "Vasteras",
            "KLARVARSEL_TWILIO_BASE_URL": fake.base_url,
            "KLARVARSEL_SMS_RATE_PER_SECOND": "100000",
            "KLARVARSEL_WORKER_CONCURRENCY": str(CONCURRENCY),
            "KLARVARSEL_WORKER_BATCH_SIZE": "50",
            # Short, so the restarted worker takes the dead one's claims over quickly.
            "KLARVARSEL_WORKER_LEASE_SECONDS": "2",
            **env,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "service.delivery.worker_cli", *args],
            cwd=ROOT,
            env=environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_started(self, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not any(" started" in line for line in self.lines):
            assert self.process.poll() is None, self.output
            assert time.monotonic() < deadline, self.output
            time.sleep(0.01)

    def wait(self, seconds: float = 60) -> int:
        code = self.process.wait(timeout=seconds)
        self._reader.join(timeout=5)
        return code

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def workers() -> Iterator[list[WorkerProcess]]:
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.stop()


def test_a_killed_worker_loses_nothing_and_duplicates_stay_within_the_concurrency(
    engine: Engine,
    fake: FakeTwilio,
    tmp_path: Path,
    database_url: str,
    workers: list[WorkerProcess],
) -> None:
    seed(engine, 2000)
    first = WorkerProcess(database_url, fake, tmp_path)
    workers.append(first)
    deadline = time.monotonic() + 30
    while len(fake.messages) < 300:
        assert first.process.poll() is None and time.monotonic() < deadline, first.output
        time.sleep(0.002)
    first.process.send_signal(signal.SIGKILL)
    assert first.wait() == -signal.SIGKILL
    at_kill = statuses(engine)
    assert at_kill["sent"] < 2000 and at_kill["sending"] > 0, at_kill

    second = WorkerProcess(database_url, fake, tmp_path, "--once")
    workers.append(second)
    assert second.wait() == 0, second.output

    assert statuses(engine) == {"sent": 2000}
    per_number = messages_per_number(fake)
    assert len(per_number) == 2000  # every delivery reached its person
    duplicates = sum(count - 1 for count in per_number.values())
    assert duplicates <= CONCURRENCY, duplicates
    with session_scope(engine) as session:
        possible = session.scalar(
            sa.select(sa.func.count()).where(Delivery.last_error == POSSIBLE_DUPLICATE)
        )
        # The dead worker's last sends were never recorded: one SentMessage row per delivery,
        # so the marking is the only trace of the duplicates, and tracking counts it.
        assert session.scalar(sa.select(sa.func.count()).select_from(SentMessage)) == 2000
        [notice_id] = session.scalars(sa.select(Delivery.notice_id).distinct()).all()
        assert progress(session, notice_id).possible_duplicates == possible
    # Every delivery the dead worker held is counted as a possible duplicate (and on a loaded
    # machine a few more whose lease ran out before the live worker renewed it).
    assert possible is not None and duplicates <= at_kill["sending"] <= possible


def test_sigterm_finishes_in_flight_messages_and_gives_the_rest_back(
    engine: Engine,
    fake: FakeTwilio,
    tmp_path: Path,
    database_url: str,
    workers: list[WorkerProcess],
) -> None:
    seed(engine, 1000)
    worker = WorkerProcess(database_url, fake, tmp_path, KLARVARSEL_WORKER_LEASE_SECONDS="60")
    workers.append(worker)
    deadline = time.monotonic() + 30
    while len(fake.messages) < 100:
        assert worker.process.poll() is None and time.monotonic() < deadline, worker.output
        time.sleep(0.002)
    worker.process.send_signal(signal.SIGTERM)
    assert worker.wait() == 0, worker.output
    assert "worker stopped:" in worker.output

    counts = statuses(engine)
    # Nothing is left claimed (the lease is a minute): unsent claims were given back at once.
    assert set(counts) == {"sent", "planned"}, counts
    assert counts["sent"] == len(fake.messages) and counts["planned"] > 0
