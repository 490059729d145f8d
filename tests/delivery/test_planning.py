"""Planning a notice's deliveries into the outbox, on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import dataclasses
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from service.config import Settings
from service.content import ContentLibrary
from service.delivery.cancel import cancel_deliveries
from service.delivery.fallback import NOT_REACHED
from service.delivery.models import Delivery
from service.delivery.planning import (
    UNREACHABLE_CHANNEL,
    PlanSummary,
    plan_deliveries,
    preview_plan,
)
from service.notices.models import NoticeRecord
from service.notices.publish import publish_notice
from service.notices.service import Notice, validate_notice
from service.recipients.areas import AreaMap, load_areas
from service.recipients.models import RecipientRecord
from service.recipients.service import recipient_key
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.conftest import ROOT, SAMPLE_NOTICES, load_json

SETTINGS = Settings(secret_key="test-secret", sms_price_per_segment_sek=0.5)
URL = "https://kris.vasteras.se/n/ABC234"  # the page a previewed notice would be published at
CARE_HOME = SAMPLE_NOTICES / "care_home_power_cut.json"  # vasteras-centrum; sv, en, ar, fi
WATER = ROOT / "message_templates" / "water_outage" / "example.json"
NESTED_AREAS = """
[kommun]
name = "Kommunen"
[norr]
parent = "kommun"
[norr-by]
parent = "norr"
[syd]
parent = "kommun"
"""


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture(scope="module")
def areas() -> AreaMap:
    return load_areas(ROOT / "areas.toml")


def person(name: str, **fields: Any) -> dict[str, Any]:
    """A register row; defaults: Swedish, general public, central Västerås, SMS only."""
    row: dict[str, Any] = {
        "name": name,
        "phone": None,
        "email": None,
        "languages": ["sv"],
        "audiences": ["general-public"],
        "areas": ["vasteras-centrum"],
        "groups": [],
        "legal_basis": "samtycke",
        "active": True,
    }
    return row | fields


def register(engine: Engine, *people: dict[str, Any]) -> dict[str, int]:
    """Insert people; their ids by name."""
    with session_scope(engine) as session:
        records = [RecipientRecord(**p) for p in people]
        session.add_all(records)
        session.flush()
        return {r.name: r.id for r in records}


def publish(
    engine: Engine, library: ContentLibrary, raw: dict[str, Any]
) -> tuple[NoticeRecord, Notice]:
    notice = validate_notice(raw, library)
    with session_scope(engine) as session:
        record = publish_notice(session, notice, raw, actor="test", source="test")
    return record, notice


def notice_raw(path: Path = CARE_HOME, **changes: Any) -> dict[str, Any]:
    raw = copy.deepcopy(load_json(path))
    raw.update(changes)
    return raw


def factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


def plan(
    engine: Engine,
    record: NoticeRecord,
    notice: Notice,
    library: ContentLibrary,
    areas: AreaMap,
    **options: Any,
) -> PlanSummary:
    return plan_deliveries(factory(engine), record, notice, library, areas, SETTINGS, **options)


def delivered_to(engine: Engine, notice_id: int) -> dict[str, list[Delivery]]:
    """The notice's deliveries by recipient name."""
    result: dict[str, list[Delivery]] = {}
    with session_scope(engine) as session:
        rows = session.execute(
            sa.select(Delivery, RecipientRecord.name)
            .join(RecipientRecord, RecipientRecord.id == Delivery.recipient_id)
            .where(Delivery.notice_id == notice_id)
            .order_by(Delivery.id)
        )
        for delivery, name in rows:
            result.setdefault(name, []).append(delivery)
    return result


def test_a_notice_to_an_area_reaches_only_recipients_inside_it(
    engine: Engine, library: ContentLibrary, tmp_path: Path
) -> None:
    (tmp_path / "areas.toml").write_text(NESTED_AREAS, "utf-8")
    nested = load_areas(tmp_path / "areas.toml")
    library = dataclasses.replace(library, areas=nested)  # notices are validated against it
    register(
        engine,
        person("Village", phone="+46701000001", areas=["norr-by"]),
        person("North", phone="+46701000002", areas=["norr"]),
        person("South", phone="+46701000003", areas=["syd"]),
        person("Elsewhere", phone="+46701000004", areas=["grannkommun"]),
        person("Both", phone="+46701000005", areas=["syd", "norr-by"]),
        person("Moved away", phone="+46701000006", areas=["norr"], active=False),
    )
    water = notice_raw(WATER, areas=["norr"])
    record, notice = publish(engine, library, water)
    plan(engine, record, notice, library, nested)
    assert sorted(delivered_to(engine, record.id)) == ["Both", "North", "Village"]
    whole = notice_raw(WATER, areas=["kommun"])
    with session_scope(engine) as session:
        preview = preview_plan(
            session, validate_notice(whole, library), library, nested, SETTINGS, public_url=URL
        )
    assert preview.recipients == 4  # not Elsewhere, not the inactive row


def test_exercise_and_test_notices_reach_only_the_exercise_group(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    register(
        engine,
        person("Resident", phone="+46701000001", audiences=["easy-read"]),
        person(
            "Exerciser",
            phone="+46701000002",
            audiences=["care-staff"],
            groups=["exercise-participants"],
        ),
    )
    for mode in ("exercise", "test"):
        record, notice = publish(engine, library, notice_raw(mode=mode))
        plan(engine, record, notice, library, areas)
        assert list(delivered_to(engine, record.id)) == ["Exerciser"]
    record, notice = publish(engine, library, notice_raw())
    plan(engine, record, notice, library, areas)
    assert sorted(delivered_to(engine, record.id)) == ["Exerciser", "Resident"]


def test_languages_registers_roles_and_the_first_channel_are_chosen_as_specified(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    ids = register(
        engine,
        person("Ali", phone="+46701000001", languages=["ar", "sv"], audiences=["other-languages"]),
        person("Ayaan", phone="+46701000002", languages=["so"], audiences=["other-languages"]),
        person("Piotr", phone="+46701000003", languages=["pl"], audiences=["hearing-impaired"]),
        person("Anna", phone="+46701000004", audiences=["general-public", "easy-read"]),
        person(
            "Carl",
            phone="+46701000005",
            email="carl@example.se",
            audiences=["general-public", "care-staff"],
        ),
        person("Birgitta", email="birgitta@example.se", audiences=["relatives"]),
        # Not among the care-home notice's audiences: not reached.
        person("Eva", phone="+46701000007", audiences=["general-public"]),
    )
    record, notice = publish(engine, library, notice_raw())
    plan(engine, record, notice, library, areas)
    got = {
        name: [(d.channel, d.language, d.register, d.role, d.audience) for d in rows]
        for name, rows in delivered_to(engine, record.id).items()
    }
    assert got == {
        "Ali": [("sms", "ar", "standard", "public", "other-languages")],
        "Ayaan": [("sms", "en", "standard", "public", "other-languages")],  # chain: en, sv
        "Piotr": [("sms", "sv", "standard", "public", "hearing-impaired")],  # chain: sv
        "Anna": [("sms", "sv", "easy_read", "public", "easy-read")],
        # Staff wording; SMS first, e-mail kept as the fallback.
        "Carl": [("sms", "sv", "standard", "staff", "care-staff")],
        "Birgitta": [("email", "sv", "standard", "relatives", "relatives")],
    }
    carl = delivered_to(engine, record.id)["Carl"][0]
    assert carl.address == "+46701000005" and carl.status == "planned"
    assert carl.recipient_key == recipient_key(SETTINGS.secret_key, ids["Carl"])
    # A notice without easy-read gives Anna the version it has, and the preview says so.
    raw = notice_raw(audiences=["relatives", "care-staff", "hearing-impaired", "general-public"])
    with session_scope(engine) as session:
        preview = preview_plan(
            session, validate_notice(raw, library), library, areas, SETTINGS, public_url=URL
        )
    assert preview.left_out == Counter({"easy-read": 1})  # Ali and Ayaan are not reached


def test_one_message_per_person_per_channel_and_replanning_is_idempotent(
    engine: Engine, library: ContentLibrary, areas: AreaMap, caplog: pytest.LogCaptureFixture
) -> None:
    register(
        engine,
        person(
            "Many lists",
            phone="+46701000001",
            email="many@example.se",
            audiences=["easy-read", "hearing-impaired", "relatives"],
            areas=["vasteras-centrum", "vasteras"],
            groups=["care-staff-bjorkgarden", "exercise-participants"],
        ),
        # The same phone registered twice (two lists imported separately): one message.
        person("Same phone", phone="+46701000001", audiences=["easy-read"]),
        person("Other", phone="+46701000002", audiences=["easy-read"]),
    )
    record, notice = publish(engine, library, notice_raw(areas=["vasteras"]))
    caplog.set_level(logging.INFO)
    first = plan(engine, record, notice, library, areas)
    assert (first.recipients, first.inserted, first.merged_duplicates) == (2, 2, 1)
    rows = delivered_to(engine, record.id)
    assert {name: len(r) for name, r in rows.items()} == {"Many lists": 1, "Other": 1}
    assert rows["Many lists"][0].role == "relatives"  # relatives wording wins over easy-read
    again = plan(engine, record, notice, library, areas)
    assert (again.inserted, again.already_planned) == (0, 2)
    with session_scope(engine) as session:
        count = session.scalar(sa.select(sa.func.count()).select_from(Delivery))
        audit = session.execute(sa.text("SELECT action FROM audit_events")).scalars().all()
    assert count == 2
    assert audit.count("deliveries.planned") == 2
    # Logs carry counts only: no names, numbers or addresses.
    assert "Many lists" not in caplog.text and "+4670" not in caplog.text
    assert f"planned notice {record.code} in " in caplog.text
    assert "'recipients': 2, 'inserted': 2" in caplog.text


def test_unreachable_people_are_listed_with_the_reason(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    register(
        engine,
        person("No contact", audiences=["hearing-impaired"]),
        person("Reachable", phone="+46701000002", audiences=["hearing-impaired"]),
    )
    raw = notice_raw()
    record, notice = publish(engine, library, raw)
    with session_scope(engine) as session:
        preview = preview_plan(session, notice, library, areas, SETTINGS, public_url=URL)
    (problem,) = preview.unreachable
    assert problem.recipient.name == "No contact"
    assert "no sms or email" in problem.reason
    plan(engine, record, notice, library, areas)
    (row,) = delivered_to(engine, record.id)["No contact"]
    assert (row.channel, row.status, row.address) == (UNREACHABLE_CHANNEL, "failed", None)
    assert row.last_error == f"{NOT_REACHED}: {problem.reason}"
    assert (row.language, row.audience) == ("sv", "hearing-impaired")


def test_the_preview_counts_equal_what_planning_inserts(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    languages = [["sv"], ["ar"], ["so"], ["fi", "sv"], ["en"]]
    audiences = [["easy-read"], ["other-languages"], ["care-staff"], ["relatives"]]
    people = [
        person(
            f"P{i}",
            phone=f"+4670200{i:04d}" if i % 4 else None,
            email=f"p{i}@example.se" if i % 3 == 0 else None,
            languages=languages[i % len(languages)],
            audiences=audiences[i % len(audiences)],
        )
        for i in range(60)
    ]
    register(engine, *people)
    record, notice = publish(engine, library, notice_raw())
    with session_scope(engine) as session:
        preview = preview_plan(session, notice, library, areas, SETTINGS, public_url=URL)
        assert session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == 0
    summary = plan(engine, record, notice, library, areas, batch_size=7, batch_seconds=60)
    rows = [d for group in delivered_to(engine, record.id).values() for d in group]
    sent = [d for d in rows if d.channel != UNREACHABLE_CHANNEL]
    assert preview.messages == len(sent) == summary.inserted - summary.unreachable
    assert preview.by_channel == Counter(d.channel for d in sent)
    assert preview.by_language == Counter(d.language for d in sent)
    assert preview.by_audience == Counter(d.audience for d in sent)
    assert len(preview.unreachable) == summary.unreachable == len(rows) - len(sent)
    assert preview.recipients == summary.recipients == 60
    assert preview.sms_segments >= preview.by_channel["sms"] > 0
    assert preview.cost_sek == pytest.approx(preview.sms_segments * 0.5)
    # E-mail stands behind SMS for those who have both.
    assert 0 < preview.with_fallback < preview.messages
    assert summary.batches == 9  # 60 rows, 7 per batch


def test_each_batch_is_committed_while_the_rest_is_still_being_planned(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    register(
        engine,
        *(person(f"P{i}", phone=f"+4670300{i:04d}", audiences=["easy-read"]) for i in range(25)),
    )
    record, notice = publish(engine, library, notice_raw())
    seen_by_a_worker: list[int] = []
    make = factory(engine)
    calls = 0

    def watching_factory() -> Session:
        # Called for the reader, then once per batch: look from outside before each new batch.
        nonlocal calls
        calls += 1
        if calls > 2:
            with engine.connect() as conn:
                seen_by_a_worker.append(
                    conn.scalar(sa.select(sa.func.count()).select_from(Delivery)) or 0
                )
        return make()

    summary = plan_deliveries(
        watching_factory, record, notice, library, areas, SETTINGS, batch_size=10, batch_seconds=60
    )
    assert summary.batches == 3 and summary.inserted == 25
    assert summary.first_batch_seconds is not None
    assert summary.first_batch_seconds <= summary.seconds
    assert seen_by_a_worker[:2] == [10, 20]


def test_a_slow_batch_is_committed_before_it_is_full(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    register(engine, *(person(f"P{i}", phone=f"+4670400{i:04d}") for i in range(3)))
    record, notice = publish(engine, library, notice_raw(WATER, areas=["vasteras"]))
    summary = plan(engine, record, notice, library, areas, batch_seconds=0)
    assert (summary.batches, summary.inserted) == (3, 3)


def test_a_cancel_during_planning_stops_it_and_nothing_planned_is_left(
    engine: Engine, library: ContentLibrary, areas: AreaMap
) -> None:
    register(
        engine,
        *(person(f"P{i}", phone=f"+4670500{i:04d}", audiences=["easy-read"]) for i in range(30)),
    )
    record, notice = publish(engine, library, notice_raw())
    make = factory(engine)
    calls = 0

    def cancelling_factory() -> Session:
        # The communicator cancels after the first batch went out.
        nonlocal calls
        calls += 1
        if calls == 3:
            with session_scope(engine) as session:
                assert cancel_deliveries(session, record.id) == 10
        return make()

    summary = plan_deliveries(
        cancelling_factory,
        record,
        notice,
        library,
        areas,
        SETTINGS,
        batch_size=10,
        batch_seconds=60,
    )
    assert summary.cancelled and summary.inserted == 10
    with session_scope(engine) as session:
        statuses = session.execute(
            sa.select(Delivery.status, sa.func.count()).group_by(Delivery.status)
        ).all()
    assert dict(statuses) == {"cancelled": 10}
