"""Every receipt kept at full speed: 3,000 SMS whose signed status callbacks arrive as fast as
the local Twilio server can post them, to the real app in its own process, on PostgreSQL.

Measured before the receipt inbox: 2,932 of 3,000 deliveries stayed `sent`, 5,872 callbacks
timed out, the pool ran dry and /healthz was silent for 10 s.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine

from service.delivery.worker import run_worker
from service.store.database import make_engine
from service.store.migrate import upgrade
from tests.delivery.test_worker import fake_settings, seed, statuses
from tests.fakes.twilio_server import AUTH_TOKEN, FakeTwilio

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)
PEOPLE = 3000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def app_server(postgres_url: str, tmp_path: Path) -> Iterator[str]:
    """The whole app in a process of its own (as a web process runs), no worker inside."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = dict(
        os.environ,
        KLARVARSEL_DATABASE_URL=postgres_url,
        KLARVARSEL_VAR_DIR=str(tmp_path / "web"),
        KLARVARSEL_TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        KLARVARSEL_PUBLIC_BASE_URL=base,
        KLARVARSEL_IN_PROCESS_WORKER="false",
        KLARVARSEL_IN_PROCESS_RELEASER="false",
        KLARVARSEL_IN_PROCESS_SCHEDULER="false",
    )
    log = (tmp_path / "web.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.2)
        else:
            pytest.fail("the app did not start: " + (tmp_path / "web.log").read_text()[-2000:])
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    yield engine
    engine.dispose()


def test_every_receipt_counts_at_full_speed_and_health_stays_fast(
    engine: Engine, app_server: str, postgres_url: str, tmp_path: Path
) -> None:
    seed(engine, PEOPLE)
    health: list[float] = []
    done = threading.Event()

    def watch_health() -> None:
        with httpx.Client(timeout=10) as client:
            while not done.is_set():
                started = time.perf_counter()
                assert client.get(f"{app_server}/healthz").status_code == 200
                health.append(time.perf_counter() - started)
                time.sleep(0.05)

    with FakeTwilio(callbacks=("sent", "delivered")) as fake:
        settings = fake_settings(
            fake,
            tmp_path,
            postgres_url,
            public_base_url=app_server,
            worker_concurrency=50,
            worker_batch_size=200,
        )
        stop = threading.Event()
        worker = threading.Thread(
            target=run_worker, args=(settings,), kwargs={"stop_event": stop, "engine": engine}
        )
        watcher = threading.Thread(target=watch_health)
        started = time.monotonic()
        watcher.start()
        worker.start()
        try:
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline and statuses(engine)["delivered"] < PEOPLE:
                time.sleep(0.2)
            elapsed = time.monotonic() - started
        finally:
            done.set()
            stop.set()
            worker.join(timeout=30)
            watcher.join(timeout=30)
        failures, answered = list(fake.callback_failures), fake.callbacks_answered

    assert statuses(engine) == {"delivered": PEOPLE}, (statuses(engine), failures[:5])
    assert failures == [] and answered == 2 * PEOPLE  # no callback timed out or was refused
    slowest = max(health)
    print(
        f"{PEOPLE} delivered in {elapsed:.1f} s; /healthz answered {len(health)} times, "
        f"median {sorted(health)[len(health) // 2] * 1000:.0f} ms, slowest {slowest * 1000:.0f} ms"
    )
    assert len(health) > 5
    # Generous: on this shared 2-core machine (load 8) the slowest answer was 0.65 s, the
    # median 33 ms; the 200 ms target is measured in bench/ (bench/README.md).
    assert slowest < 2.0, slowest
