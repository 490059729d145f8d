"""Two workers on PostgreSQL share the deliveries and never send the same one twice."""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.delivery.leases import claim
from service.delivery.models import Delivery
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.delivery.test_crash_recovery import WorkerProcess, workers
from tests.delivery.test_worker import add_deliveries, fake, messages_per_number, seed, statuses
from tests.fakes.twilio_server import FakeTwilio, Fault

__all__ = ["fake", "workers"]  # fixtures shared with the other worker tests

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_engine(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def test_skip_locked_claims_pass_over_rows_another_transaction_is_claiming(
    pg_engine: Engine,
) -> None:
    seed(pg_engine, 30)
    with session_scope(pg_engine) as first:
        mine = claim(first, "first", 20, lease_seconds=30)
        # The first claim has not committed: its rows are locked, not yet `sending` to others.
        with session_scope(pg_engine) as second:
            theirs = claim(second, "second", 20, lease_seconds=30)
    assert len(mine) == 20 and len(theirs) == 10
    assert {d.id for d in mine}.isdisjoint(d.id for d in theirs)


def test_two_worker_processes_never_send_the_same_delivery(
    pg_engine: Engine,
    postgres_url: str,
    fake: FakeTwilio,
    tmp_path: Path,
    workers: list[WorkerProcess],
) -> None:
    notice_id = seed(pg_engine, 2000, deliveries=False)
    fake.faults.append(Fault(delay=0.002))  # each answer takes a moment, as Twilio's do
    small = {"KLARVARSEL_WORKER_BATCH_SIZE": "20", "KLARVARSEL_WORKER_LEASE_SECONDS": "30"}
    for _ in range(2):
        workers.append(WorkerProcess(postgres_url, fake, tmp_path, **small))
    for worker in workers:
        worker.wait_started()
    # Planned only once both are polling, so both find work.
    with session_scope(pg_engine) as session:
        add_deliveries(session, notice_id, range(1, 2001), "general-public")
    deadline = time.monotonic() + 60
    while statuses(pg_engine)["sent"] < 2000:
        assert time.monotonic() < deadline, [w.output for w in workers]
        time.sleep(0.05)
    for worker in workers:
        worker.process.send_signal(signal.SIGTERM)
    for worker in workers:
        assert worker.wait() == 0, worker.output

    assert statuses(pg_engine) == {"sent": 2000}
    per_number = messages_per_number(fake)
    assert len(per_number) == 2000 and set(per_number.values()) == {1}
    assert len(fake.requests) == 2000
    with session_scope(pg_engine) as session:
        by_worker = dict(
            session.execute(
                sa.select(Delivery.lease_owner, sa.func.count()).group_by(Delivery.lease_owner)
            ).all()
        )
    assert len(by_worker) == 2 and min(by_worker.values()) > 100, by_worker
