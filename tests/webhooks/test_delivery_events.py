"""The worker's own outcomes as webhook events: one per delivery, however many workers record.

`delivery.sent` when a send is recorded, `delivery.failed` when a delivery fails for good; both
written in the recording transaction (the outbox). Two worker threads share the deliveries on
PostgreSQL; a lease taken over (two recordings of one delivery) is one event.
"""

from __future__ import annotations

import threading
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.channels.base import SendResult
from service.content import ContentLibrary
from service.delivery.dispatch import Outcome
from service.delivery.models import Delivery
from service.delivery.worker import run_worker
from service.store.database import session_scope
from service.webhooks.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from tests.delivery.test_worker import (
    FAST,
    engine,
    fake,
    fake_settings,
    record,
    seed,
    taken_over,
)
from tests.fakes.twilio_server import FakeTwilio

__all__ = ["engine", "fake"]  # fixtures shared with the worker tests

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)


def subscribe(engine: Engine, events: list[str]) -> None:
    with session_scope(engine) as session:
        session.add(
            WebhookSubscription(
                owner="test", url="https://8.8.8.8/hook", events=events, secret="whsec_dGVzdA=="
            )
        )


def events(engine: Engine) -> list[tuple[str, int, str]]:
    """(type, delivery id, status) of every delivery event queued."""
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(WebhookEvent).order_by(WebhookEvent.id)).all()
        assert session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == len(rows)
        return [
            (e.type, e.payload["data"]["delivery_id"], e.payload["data"]["status"]) for e in rows
        ]


@pytest.mark.postgres
def test_two_workers_write_one_event_per_delivery_outcome(
    postgres_url: str, fake: FakeTwilio, tmp_path: Path
) -> None:
    from service.store.database import make_engine
    from service.store.migrate import upgrade

    upgrade(postgres_url)
    pg = make_engine(postgres_url)
    try:
        subscribe(pg, ["delivery.*"])
        seed(pg, 400)  # general-public: SMS, then e-mail (the outbox) when the SMS fails
        fake.fail_fraction(0.1, status=400, code=21211)  # invalid numbers: failed for good
        settings = fake_settings(fake, tmp_path, postgres_url, worker_batch_size=20)
        workers = [
            threading.Thread(
                target=run_worker,
                args=(settings,),
                kwargs={
                    "stop_event": threading.Event(),
                    "once": True,
                    "engine": pg,
                    "retry": FAST,
                    "worker_id": f"w{i}",
                },
            )
            for i in range(2)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=120)
        assert not any(w.is_alive() for w in workers)
        with session_scope(pg) as session:
            rows = session.execute(
                sa.select(Delivery.id, Delivery.channel, Delivery.status, Delivery.lease_owner)
            ).all()
        got = events(pg)
    finally:
        pg.dispose()
    outcome = {i: status for i, _, status, _ in rows}
    assert Counter(status for _, _, status, _ in rows)["failed"] > 10  # failures happened
    assert {owner for *_, owner in rows} == {"w0", "w1"}  # both workers recorded
    # Each delivery exactly once, as what became of it.
    assert Counter(i for _, i, _ in got) == Counter(dict.fromkeys(outcome, 1))
    assert all(t == f"delivery.{outcome[i]}" == f"delivery.{s}" for t, i, s in got)


def test_a_delivery_recorded_by_two_workers_is_one_event(
    engine: Engine, library: ContentLibrary
) -> None:
    subscribe(engine, ["delivery.sent", "delivery.failed"])
    slow, other = taken_over(engine)
    record(engine, "slow", library, Outcome(slow, SendResult("twilio", "SM-slow", "queued")))
    record(engine, "other", library, Outcome(other, SendResult("twilio", "SM-other", "queued")))
    assert events(engine) == [("delivery.sent", slow.id, "sent")]


def test_a_permanent_failure_is_one_event_and_its_fallback_its_own(
    engine: Engine, library: ContentLibrary
) -> None:
    subscribe(engine, ["delivery.failed"])
    _slow, other = taken_over(engine)
    record(engine, "slow", library, Outcome(_slow, error="21211: invalid", permanent=True))
    assert events(engine) == []  # no longer the slow worker's: nothing changed, no event
    record(engine, "other", library, Outcome(other, error="21211: invalid", permanent=True))
    assert events(engine) == [("delivery.failed", other.id, "failed")]


def test_no_subscription_no_event(engine: Engine, library: ContentLibrary) -> None:
    subscribe(engine, ["notice.*"])
    slow, _other = taken_over(engine)
    record(engine, "slow", library, Outcome(slow, SendResult("twilio", "SM-slow", "queued")))
    assert events(engine) == []
