"""Senders' claims on SQLite and PostgreSQL: never the same row twice, expired leases taken over."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.clock import utcnow
from service.config import Settings
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from service.webhooks.events import emit
from service.webhooks.models import WebhookDelivery, WebhookSubscription
from service.webhooks.sender import Result, claim, record
from service.webhooks.signing import new_secret

SETTINGS = Settings(webhook_retry_base_seconds=5.0, webhook_lease_seconds=60.0)


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    with session_scope(engine) as session:
        session.add(
            WebhookSubscription(
                owner="key:test", url="http://127.0.0.1:9/hook", events=["notice.*"],
                secret=new_secret(), description="", test_only=False, active=True,
            )
        )  # fmt: skip
        session.flush()
        for number in range(3):
            emit(session, "notice.sent", {"code": f"C{number}"}, mode="actual")
        emit(session, "delivery.sent", {"delivery_id": 1}, mode="actual")  # not subscribed
    yield engine
    engine.dispose()


def test_two_senders_never_claim_the_same_delivery_and_a_dead_one_is_taken_over(
    engine: Engine,
) -> None:
    with session_scope(engine) as first:
        a = claim(first, "a", SETTINGS, batch=2)
        if engine.dialect.name == "postgresql":
            # While a's claim is uncommitted, b skips the rows a holds (SKIP LOCKED).
            with Session(engine) as second:
                b = claim(second, "b", SETTINGS, batch=2)
                second.commit()
        else:
            b = []
    if not b:
        with session_scope(engine) as second:
            b = claim(second, "b", SETTINGS, batch=2)
    assert len(a) == 2 and len(b) == 1
    assert not {j.delivery_id for j in a} & {j.delivery_id for j in b}
    with session_scope(engine) as session:
        assert claim(session, "c", SETTINGS) == []  # every lease is alive
        session.execute(
            sa.update(WebhookDelivery)
            .where(WebhookDelivery.lease_owner == "a")
            .values(lease_expires_at=utcnow() - timedelta(seconds=1))
        )
    with session_scope(engine) as session:
        taken = claim(session, "c", SETTINGS)
    assert sorted(j.delivery_id for j in taken) == sorted(j.delivery_id for j in a)


def test_a_failure_is_retried_later_until_it_gives_up_and_a_refusal_fails_at_once(
    engine: Engine,
) -> None:
    with session_scope(engine) as session:
        one, two, three = claim(session, "s", SETTINGS)
    with session_scope(engine) as session:
        assert record(session, "s", one, Result(503, "the receiver answered 503", 5), SETTINGS) == (
            "pending"
        )
        refused = Result(404, "answered 404", 5, permanent=True)
        assert record(session, "s", two, refused, SETTINGS) == "failed"
        late = type(three)(**{**three.__dict__, "give_up_at": utcnow()})
        assert record(session, "s", late, Result(None, "timeout", 5), SETTINGS) == "failed"
    with session_scope(engine) as session:
        rows = {d.id: d for d in session.scalars(sa.select(WebhookDelivery))}
        retry = rows[one.delivery_id]
        assert (retry.status, retry.attempts, retry.last_status_code) == ("pending", 1, 503)
        assert rows[two.delivery_id].status == "failed"
        assert len(rows) == 3  # the delivery event had no subscriber: nothing queued
        assert claim(session, "s", SETTINGS) == []  # the retry waits its 5 s
