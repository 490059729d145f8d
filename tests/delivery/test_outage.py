"""Riding out a provider outage: retries by time, a circuit breaker shared through the database.

Minutes are compressed into seconds with short settings (backoff, probe waits); the local
Twilio server answers 500 (or refuses our token) for a while, then recovers.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.models import TransportCircuit
from service.config import Settings
from service.delivery.tracking import progress
from service.delivery.worker import run_worker
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.delivery.test_worker import fake_settings, messages_per_number, seed, statuses
from tests.fakes.twilio_server import FakeTwilio

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)

COMPRESSED: dict[str, Any] = {
    "retry_base_seconds": 0.05,
    "retry_cap_seconds": 1.0,
    "circuit_failures": 5,
    "circuit_open_seconds": 0.2,
    "circuit_open_max_seconds": 0.5,
}


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def start_worker(
    settings: Settings, engine: Engine, *, once: bool
) -> tuple[threading.Thread, threading.Event]:
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(settings,),
        kwargs={"stop_event": stop, "once": once, "engine": engine},
    )
    thread.start()
    return thread, stop


def circuit(engine: Engine) -> TransportCircuit | None:
    with session_scope(engine) as session:
        return session.get(TransportCircuit, "sms")


def test_an_outage_is_waited_out_and_everyone_is_reached_without_hammering_the_provider(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    notice_id = seed(engine, 200)
    fake.fail_for(4.0, status=500)
    settings = fake_settings(fake, tmp_path, database_url, **COMPRESSED)
    worker, _stop = start_worker(settings, engine, once=True)
    waiting: list[str] = []
    while worker.is_alive() and not waiting:
        with session_scope(engine) as session:
            waiting = progress(session, notice_id).waiting_lines(settings.timezone)
        time.sleep(0.05)
    worker.join(timeout=60)
    assert not worker.is_alive()

    assert waiting and waiting[0].startswith("waiting for the SMS provider since ")
    assert statuses(engine) == {"sent": 200}  # nobody failed
    assert set(messages_per_number(fake).values()) == {1}
    # Without the breaker 200 people backing off from 50 ms to 1 s make about 2,000 requests
    # in 4 s; with it, a few failures, what was in flight, and one probe at a time.
    refused = len(fake.requests) - len(fake.messages)
    assert 5 <= refused < 150, refused
    state = circuit(engine)
    assert state is not None and (state.state, state.failures, state.since) == ("closed", 0, None)
    with session_scope(engine) as session:
        assert progress(session, notice_id).waiting == {}


def test_a_wrong_auth_token_waits_until_it_is_fixed_then_everyone_is_reached(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    seed(engine, 50)
    wrong = fake_settings(
        fake, tmp_path, database_url, twilio_auth_token="rotated-by-someone", **COMPRESSED
    )
    worker, stop = start_worker(wrong, engine, once=False)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and (circuit(engine) or TransportCircuit()).state != "open":
        time.sleep(0.05)
    time.sleep(0.5)  # a probe or two fails as well
    stop.set()
    worker.join(timeout=30)
    assert not worker.is_alive()
    state = circuit(engine)
    assert state is not None and "authentication failed" in (state.last_error or "")
    assert statuses(engine)["failed"] == 0 and not fake.messages

    # The operator fixes the token and restarts the worker: everyone is reached.
    fixed = fake_settings(fake, tmp_path, database_url, **COMPRESSED)
    worker, _stop = start_worker(fixed, engine, once=True)
    worker.join(timeout=60)
    assert statuses(engine) == {"sent": 50}
    assert len(fake.messages) == 50
    with session_scope(engine) as session:
        assert session.scalar(sa.select(TransportCircuit.state)) == "closed"


def test_too_many_requests_slows_down_but_never_opens_the_circuit(
    engine: Engine,
    fake: FakeTwilio,
    tmp_path: Path,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """429 (Twilio 20429: over the account's concurrency) is the provider up and busy."""
    caplog.set_level(logging.WARNING, logger="service.delivery.circuits")
    seed(engine, 60)
    fake.fail_next(40, status=429, code=20429)  # eight times the failures that open it
    settings = fake_settings(fake, tmp_path, database_url, **COMPRESSED)
    worker, _stop = start_worker(settings, engine, once=True)
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert statuses(engine) == {"sent": 60}
    assert set(messages_per_number(fake).values()) == {1}
    assert len(fake.requests) - len(fake.messages) == 40  # each refusal retried, none lost
    opened = [r.getMessage() for r in caplog.records if "circuit open" in r.getMessage()]
    assert opened == []  # (a closed circuit forgets how often it opened: the log tells)
    state = circuit(engine)
    assert state is None or state.state == "closed"


def test_answers_on_a_circuit_known_clean_touch_no_row_and_a_stale_count_is_cleared(
    engine: Engine,
) -> None:
    """Recording asks nothing about a circuit it knows is clean; a known failure is read."""
    from service.delivery.circuits import CLOSED, CircuitState, note_results

    settings = Settings(**COMPRESSED)
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as session:
            clean = CircuitState("sms")
            assert note_results(session, "sms", [None, None], settings, known=clean) is clean
        assert statements == []  # no round trip while the slots wait
        with session_scope(engine) as session:  # another worker noted two failures
            note_results(session, "sms", ["timeout", "timeout"], settings)
        stale = circuit(engine)
        assert stale is not None and stale.failures == 2
        with session_scope(engine) as session:  # read since: it is not clean any more
            known = CircuitState("sms", last_error="timeout")
            state = note_results(session, "sms", [None], settings, known=known)
        assert state.state == CLOSED and state.last_error is None
        cleared = circuit(engine)
        assert cleared is not None and cleared.failures == 0 and cleared.last_error is None
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
