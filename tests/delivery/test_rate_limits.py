"""SMS rate limits count segments as providers do, and the worker logs nothing per message."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.sms.encoding import analyse_sms
from service.config import Settings
from service.content import ContentLibrary
from service.delivery.dispatch import TokenBucket
from service.delivery.messages import MessageBuilder
from service.delivery.models import Delivery
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.delivery.test_worker import drain, fake_settings, seed, statuses
from tests.fakes.twilio_server import FakeTwilio

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_a_long_sms_costs_its_segments(engine: Engine, library: ContentLibrary) -> None:
    seed(engine, 2)
    with session_scope(engine) as session:
        session.execute(sa.update(Delivery).where(Delivery.recipient_id == 2).values(language="ar"))
    builder = MessageBuilder(Settings(), library)
    with session_scope(engine) as session:
        deliveries = session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()
        jobs = [builder.job(session, d) for d in deliveries]
    for job in jobs:
        assert job.message is not None
        assert job.cost == analyse_sms(job.message.text).segments
    # Arabic is sent as UCS-2, 67 characters a part: the same notice costs more segments.
    assert jobs[1].cost > jobs[0].cost >= 1


def test_the_bucket_lets_segments_through_at_its_rate() -> None:
    async def send_all() -> float:
        bucket = TokenBucket(rate=100)  # segments a second; bursts of 10
        start = time.monotonic()
        for _ in range(10):
            await bucket.take(3)  # ten three-part messages: 30 segments
        return time.monotonic() - start

    # 30 segments less the burst of 10, at 100 a second: at least 0.2 s (counting messages,
    # it would have let all ten through at once).
    assert asyncio.run(send_all()) >= 0.19


def test_the_worker_logs_nothing_per_message(
    engine: Engine, tmp_path: Path, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    seed(engine, 300)
    caplog.set_level(logging.DEBUG, logger="service")
    with FakeTwilio() as fake:
        drain(fake_settings(fake, tmp_path, database_url), engine)
    assert statuses(engine) == {"sent": 300}
    lines = [r for r in caplog.records if r.levelno >= logging.INFO]
    # "started" and "stopped"; nothing that grows with the number of messages.
    assert any("started" in r.getMessage() for r in lines)  # the log is really captured
    assert len(lines) <= 5, [r.getMessage() for r in lines]
