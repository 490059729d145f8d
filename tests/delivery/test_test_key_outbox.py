"""A test key's notices go to the outbox transports whatever the configured transports are."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.content import ContentLibrary
from service.delivery.models import Delivery
from service.notices.models import NoticeRecord
from service.notices.publish import publish_notice
from service.notices.service import NoticeInvalid, validate_notice
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.delivery.test_planning import notice_raw
from tests.delivery.test_worker import drain, fake_settings, phone, seed
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


@pytest.fixture
def fake() -> Iterator[FakeTwilio]:
    with FakeTwilio() as server:
        yield server


def test_a_test_keys_notice_is_sent_to_the_outbox_while_others_go_to_twilio(
    engine: Engine, fake: FakeTwilio, tmp_path: Path, database_url: str
) -> None:
    live = seed(engine, 3, start=1)
    test = seed(engine, 4, start=100)
    with session_scope(engine) as session:
        session.execute(
            sa.update(NoticeRecord)
            .where(NoticeRecord.id == test)
            .values(mode="exercise", outbox_only=True)
        )
    settings = fake_settings(fake, tmp_path, database_url)  # SMS through Twilio
    drain(settings, engine)

    with session_scope(engine) as session:
        statuses = session.execute(
            sa.select(Delivery.notice_id, Delivery.status, sa.func.count()).group_by(
                Delivery.notice_id, Delivery.status
            )
        ).all()
    assert sorted(statuses) == sorted([(live, "sent", 3), (test, "sent", 4)])
    assert sorted(m["to"] for m in fake.messages.values()) == [phone(i) for i in range(1, 4)]
    written = [
        json.loads(p.read_text("utf-8")) for p in (settings.outbox_dir / "sms").glob("*.json")
    ]
    assert sorted(m["to"] for m in written) == [phone(i) for i in range(100, 104)]


def test_a_test_key_cannot_publish_an_actual_notice(
    engine: Engine, library: ContentLibrary
) -> None:
    raw = notice_raw()
    notice = validate_notice(raw, library)
    with pytest.raises(NoticeInvalid) as refused, session_scope(engine) as session:
        publish_notice(session, notice, raw, actor="key:kv_test_X", source="api", outbox_only=True)
    assert str(refused.value.problems[0].message) == (
        "a test key may only publish exercise and test notices"
    )
    raw = notice_raw(mode="exercise")
    with session_scope(engine) as session:
        stored = publish_notice(
            session,
            validate_notice(raw, library),
            raw,
            actor="key:kv_test_X",
            source="api",
            outbox_only=True,
        )
        assert stored.outbox_only and stored.mode == "exercise"
