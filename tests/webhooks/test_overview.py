"""The admin list's delivery health on SQLite and PostgreSQL: per subscription, few queries."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.accounts.keys import create_key
from service.accounts.roles import Scope
from service.clock import FrozenClock
from service.config import Settings
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from service.webhooks.events import emit
from service.webhooks.overview import active_subscriptions
from service.webhooks.sender import Result, claim, record
from service.webhooks.service import Owner, create_subscription


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    made = make_engine(database_url)
    yield made
    made.dispose()


def _attempt(engine: Engine, settings: Settings, result: Result) -> None:
    with session_scope(engine) as session:
        for job in claim(session, "overview", settings):
            record(session, "overview", job, result, settings)


def test_each_subscription_gets_its_own_counts_and_last_attempt_in_three_queries(
    engine: Engine, tmp_path: Path, frozen_clock: FrozenClock
) -> None:
    settings = Settings(var_dir=tmp_path / "var")
    with session_scope(engine) as session:
        key = create_key(session, name="Larm", scopes=[Scope.notices_read], actor="t", source="t")
        by_key = Owner(f"key:{key.record.prefix}", key.record.id, False, False, "t")
        person = Owner("jour@kommun.example.se", None, False, False, "t")
        first, _ = create_subscription(
            session, by_key, settings, url="https://8.8.8.8/a", events=["notice.sent"]
        )
        second, _ = create_subscription(
            session, person, settings, url="https://8.8.4.4/b", events=["notice.*"]
        )
        ids = (first.id, second.id)
    with session_scope(engine) as session:
        emit(session, "notice.sent", {"code": "A"}, mode="exercise")  # to both
    _attempt(engine, settings, Result(503, "HTTP 503: busy", 40))  # both wait for a retry
    with session_scope(engine) as session:
        emit(session, "notice.approved", {"code": "A"}, mode="exercise")  # the second only
    _attempt(engine, settings, Result(200, None, 5))

    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(str(args[2]))

    sa.event.listen(engine, "before_cursor_execute", count)
    try:
        with session_scope(engine) as session:
            rows = {r.subscription.id: r for r in active_subscriptions(session)}
            owners = {i: (r.key.name if r.key else r.subscription.owner) for i, r in rows.items()}
            health = {i: r.health for i, r in rows.items()}
    finally:
        sa.event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 3, statements  # subscriptions with keys, counts, last attempts
    assert owners == {ids[0]: "Larm", ids[1]: "jour@kommun.example.se"}
    assert (health[ids[0]].delivered, health[ids[0]].waiting, health[ids[0]].failed) == (0, 1, 0)
    assert health[ids[0]].last_code == 503 and health[ids[0]].last_error == "HTTP 503: busy"
    assert (health[ids[1]].delivered, health[ids[1]].waiting, health[ids[1]].failed) == (1, 1, 0)
    assert health[ids[1]].last_code == 200 and health[ids[1]].last_error is None
    assert health[ids[1]].last_at is not None
