from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine

from service.audit.models import AuditEvent
from service.delivery.models import Delivery, DeliveryStatus
from service.notices.models import NoticeRecord
from service.recipients.models import RecipientRecord
from service.recipients.register import RecipientNotFound, export_person, forget_person
from service.recipients.service import recipient_key
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade

SECRET = "test-secret"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def person_with_deliveries(engine: Engine) -> tuple[int, int]:
    """Anna with an SMS and an e-mail for one notice; Bo with an SMS (who must be untouched)."""
    with session_scope(engine) as session:
        notice = NoticeRecord(
            code="VV7K2M",
            scenario="water_outage",
            message_type="alert",
            mode="actual",
            status="published",
            payload={},
            created_by="kommunikator@vasteras.se",
        )
        anna = RecipientRecord(
            external_id="K-1",
            name="Anna Andersson",
            phone="+46701234567",
            email="anna@example.se",
            languages=["sv"],
            audiences=["easy-read"],
            areas=["skultuna"],
            groups=[],
            legal_basis="samtycke",
        )
        bo = RecipientRecord(name="Bo Ek", phone="+46701234568", languages=["sv"])
        session.add_all([notice, anna, bo])
        session.flush()
        sent = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
        for who, channel, address in (
            (anna, "sms", anna.phone),
            (anna, "email", anna.email),
            (bo, "sms", bo.phone),
        ):
            session.add(
                Delivery(
                    notice_id=notice.id,
                    recipient_id=who.id,
                    recipient_key=recipient_key(SECRET, who.id),
                    channel=channel,
                    address=address,
                    language="sv",
                    register="easy_read",
                    role="self",
                    audience="easy-read",
                    status=DeliveryStatus.delivered.value,
                    attempts=1,
                    sent_at=sent,
                )
            )
        return anna.id, bo.id


def test_export_person_lists_the_row_and_every_delivery(engine: Engine) -> None:
    anna_id, _ = person_with_deliveries(engine)
    with session_scope(engine) as session:
        person = export_person(session, anna_id, actor="dataskydd@vasteras.se")
    json.dumps(person)  # all JSON, as `recipients show` prints it
    assert person["recipient"]["name"] == "Anna Andersson"
    assert person["recipient"]["areas"] == ["skultuna"]
    assert person["recipient"]["legal_basis"] == "samtycke"
    deliveries = person["deliveries"]
    assert [(d["notice_code"], d["channel"], d["address"], d["status"]) for d in deliveries] == [
        ("VV7K2M", "sms", "+46701234567", "delivered"),
        ("VV7K2M", "email", "anna@example.se", "delivered"),
    ]
    assert deliveries[0]["sent_at"] == "2026-11-23T09:30:00+00:00"
    with session_scope(engine) as session:
        event = session.scalars(sa.select(AuditEvent)).one()
    assert (event.action, event.subject_id) == ("recipient.exported", str(anna_id))


def test_forget_person_keeps_pseudonymous_deliveries_without_address(engine: Engine) -> None:
    anna_id, bo_id = person_with_deliveries(engine)
    with session_scope(engine) as session:
        assert forget_person(session, anna_id, actor="dataskydd@vasteras.se") == 2
    with session_scope(engine) as session:
        assert session.get(RecipientRecord, anna_id) is None
        deliveries = list(session.scalars(sa.select(Delivery).order_by(Delivery.id)))
        event = session.scalars(sa.select(AuditEvent)).one()
    kept = [d for d in deliveries if d.recipient_key == recipient_key(SECRET, anna_id)]
    assert [(d.recipient_id, d.address, d.status) for d in kept] == [
        (None, None, "delivered"),
        (None, None, "delivered"),
    ]
    other = [d for d in deliveries if d.recipient_id == bo_id]
    assert [d.address for d in other] == ["+46701234568"]
    assert (event.action, event.actor) == ("recipient.forgotten", "dataskydd@vasteras.se")
    assert event.details == {"deliveries_kept_pseudonymous": 2}
    assert "Anna" not in json.dumps(event.details) and "+4670" not in json.dumps(event.details)
    with session_scope(engine) as session, pytest.raises(RecipientNotFound):
        export_person(session, anna_id)


def test_the_database_itself_unlinks_deliveries_of_a_deleted_row(engine: Engine) -> None:
    anna_id, _ = person_with_deliveries(engine)
    with session_scope(engine) as session:
        session.execute(sa.delete(RecipientRecord).where(RecipientRecord.id == anna_id))
    with session_scope(engine) as session:
        linked = session.scalar(
            sa.select(sa.func.count()).select_from(Delivery).where(Delivery.recipient_id.is_(None))
        )
    assert linked == 2


def test_unknown_ids_are_refused(engine: Engine) -> None:
    with session_scope(engine) as session, pytest.raises(RecipientNotFound):
        forget_person(session, 999, actor="x")
