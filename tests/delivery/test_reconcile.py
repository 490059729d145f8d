"""Messages whose status callback never comes are settled by asking Twilio (Message fetch).

The local Twilio server answers Message fetch as Twilio does; nothing calls back, so only
reconciliation can move the deliveries on. SQLite and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from twilio.rest import Client

from service.channels.base import TransportError
from service.channels.models import SentMessage
from service.channels.sms.twilio_transport import TwilioSmsTransport
from service.clock import utcnow
from service.content import ContentLibrary
from service.delivery.models import Delivery
from service.delivery.reconcile import apply_answers, claim_due
from service.delivery.worker import run_worker
from service.store.database import session_scope
from tests.delivery.test_worker import FAST, drain, engine, fake, fake_settings, seed, statuses
from tests.fakes.twilio_server import ACCOUNT_SID, AUTH_TOKEN, FakeTwilio

__all__ = ["engine", "fake"]  # fixtures shared with the other worker tests

pytestmark = pytest.mark.filterwarnings(
    "ignore:.*(BasicAuth|'auth' parameter).*:DeprecationWarning"
)


def wait_for(check: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_the_local_server_answers_message_fetch_as_twilio_does(fake: FakeTwilio) -> None:
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = fake.base_url
    created = client.messages.create(to="+46701234567", from_="Vasteras", body="Hej")
    assert created.sid is not None and created.status == "queued"
    assert client.messages(created.sid).fetch().status == "queued"
    fake.settle(created.sid, "undelivered", "30003")
    fetched = client.messages(created.sid).fetch()
    assert (fetched.status, fetched.error_code) == ("undelivered", 30003)
    assert len(fake.fetches) == 2 and len(fake.requests) == 1  # fetches are not sends


def test_the_transport_asks_twilio_and_says_when_it_cannot(
    fake: FakeTwilio, tmp_path: Path
) -> None:
    transport = TwilioSmsTransport(fake_settings(fake, tmp_path, "sqlite://"))
    client = Client(ACCOUNT_SID, AUTH_TOKEN)
    client.api.base_url = fake.base_url
    sid = client.messages.create(to="+46701234567", from_="Vasteras", body="Hej").sid
    assert sid is not None
    fake.settle(sid, "delivered")

    async def ask() -> list[object]:
        answers: list[object] = [
            await transport.fetch_status(sid),
            await transport.fetch_status("SM" + "0" * 32),  # never sent: unknown
            await transport.fetch_status("../../Calls"),  # not a message id: not asked
        ]
        fake.fail_next(1, status=503)
        try:
            await transport.fetch_status(sid)
        except TransportError as exc:
            answers.append(exc.permanent)
        await transport.aclose()
        return answers

    assert asyncio.run(ask()) == [("delivered", None), None, None, False]
    assert len(fake.fetches) == 3


def test_silent_messages_end_delivered_or_failed_with_fallback_after_reconciliation(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    seed(engine, 4)  # general-public: SMS, then e-mail (the outbox) if the SMS fails
    settings = fake_settings(
        fake, tmp_path, database_url, reconcile_after_seconds=1.0, reconcile_rate_per_second=50
    )
    stop = threading.Event()
    worker = threading.Thread(
        target=run_worker,
        args=(settings,),
        kwargs={"stop_event": stop, "engine": engine, "retry": FAST},
    )
    worker.start()
    try:
        wait_for(lambda: statuses(engine)["sent"] == 4)
        with session_scope(engine) as session:
            sids = session.scalars(sa.select(Delivery.provider_id).order_by(Delivery.id)).all()
        # The network delivers two and gives up on one; one is still on its way. Nobody calls.
        fake.settle(str(sids[0]), "delivered")
        fake.settle(str(sids[1]), "delivered")
        fake.settle(str(sids[2]), "undelivered", "30003")
        wait_for(lambda: statuses(engine)["delivered"] == 2 and statuses(engine)["failed"] == 1)
        # The e-mail the failed SMS fell back to goes out (the outbox records it as sent).
        wait_for(lambda: statuses(engine) == {"delivered": 2, "failed": 1, "sent": 2})
    finally:
        stop.set()
        worker.join(timeout=30)
    assert not worker.is_alive()
    with session_scope(engine) as session:
        rows = session.scalars(sa.select(Delivery).order_by(Delivery.id)).all()
        stored = dict(session.execute(sa.select(SentMessage.provider_id, SentMessage.status)).all())
    by_sid = {d.provider_id: d for d in rows}
    failed = by_sid[sids[2]]
    assert "reported the message undelivered (error code 30003)" in (failed.last_error or "")
    [fallback] = [d for d in rows if d.fallback_of_id == failed.id]
    assert (fallback.channel, fallback.status) == ("email", "sent")
    assert fallback.reconcile_at is None  # e-mail has no receipts to wait for
    assert stored[sids[0]] == "delivered" and stored[sids[2]] == "undelivered"
    # The one still on its way is asked again later, not at once.
    waiting = by_sid[sids[3]]
    assert waiting.status == "sent" and waiting.reconcile_at is not None
    asked = [r.path.rsplit("/", 1)[1].removesuffix(".json") for r in fake.fetches]
    assert sorted(set(asked)) == sorted(str(s) for s in sids)
    assert all(asked.count(str(s)) == 1 for s in sids[:3])  # settled ones: asked once


def test_a_message_is_claimed_by_one_asker_and_answers_never_move_back(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str, library: ContentLibrary
) -> None:
    seed(engine, 3)
    settings = fake_settings(fake, tmp_path, database_url)
    drain(settings, engine)
    with session_scope(engine) as session:  # ten minutes on, as the worker planned it
        assert all(session.scalars(sa.select(Delivery.reconcile_at)))
        session.execute(sa.update(Delivery).values(reconcile_at=utcnow() - timedelta(seconds=1)))
    with session_scope(engine) as session:
        first = claim_due(session, 2)
    with session_scope(engine) as session:
        second = claim_due(session, 10)
    with session_scope(engine) as session:
        third = claim_due(session, 10)
    assert len(first) == 2 and len(second) == 1 and third == []
    assert {i for i, _ in first}.isdisjoint(i for i, _ in second)
    (one, sid_one), (two, sid_two) = first
    (three, sid_three) = second[0]
    with session_scope(engine) as session:
        session.execute(
            sa.update(SentMessage)
            .where(SentMessage.provider_id == sid_one)
            .values(status="delivered")
        )
        session.execute(sa.update(Delivery).where(Delivery.id == one).values(status="delivered"))
    with session_scope(engine) as session:
        done = apply_answers(
            session,
            [
                (one, sid_one, ("queued", None)),
                (two, sid_two, ("sent", None)),
                (three, sid_three, None),
            ],
            library,
            settings,
        )
    assert (done.answered, done.delivered, done.failed) == (2, 0, 0)
    with session_scope(engine) as session:
        rows = {d.id: d for d in session.scalars(sa.select(Delivery))}
        stored = dict(session.execute(sa.select(SentMessage.provider_id, SentMessage.status)).all())
    assert rows[one].status == "delivered" and stored[sid_one] == "delivered"  # not back
    assert rows[two].status == "sent" and stored[sid_two] == "sent"
    assert rows[two].reconcile_at is not None  # asked again later
    assert rows[three].reconcile_at is None  # Twilio does not know it: not asked again
