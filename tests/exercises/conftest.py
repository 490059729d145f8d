"""Fixtures for the exercise tests: a migrated database, settings, people, a test notice."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from service.config import Settings
from service.content import ContentLibrary
from service.exercises.canaries import add_canary
from service.exercises.models import ScheduleRecord
from service.exercises.schedules import NewSchedule, add_schedule
from service.recipients.models import RecipientRecord
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.conftest import ROOT, load_json

QUARTERLY_TEST = ROOT / "demo" / "exercises" / "quarterly_test.json"
EXERCISE_GROUP = "exercise-participants"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return make_settings(tmp_path, database_url)


def make_settings(tmp_path: Path, url: str, **changes: Any) -> Settings:
    return Settings(
        var_dir=tmp_path / "var",
        database_url=url,
        secret_key="test-secret",
        public_base_url="https://kris.vasteras.se",
        **changes,
    )


def quarterly_notice(**changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = copy.deepcopy(load_json(QUARTERLY_TEST))
    raw.update(changes)
    return raw


def person(name: str, *, exercise: bool, **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "name": name,
        "phone": None,
        "email": None,
        "languages": ["sv"],
        "audiences": ["general-public"],
        "areas": ["vasteras-centrum"],
        "groups": [EXERCISE_GROUP] if exercise else [],
        "legal_basis": "samtycke",
        "active": True,
    }
    return row | fields


def register(engine: Engine, *people: dict[str, Any]) -> dict[str, int]:
    with session_scope(engine) as session:
        records = [RecipientRecord(**p) for p in people]
        session.add_all(records)
        session.flush()
        return {r.name: r.id for r in records}


def canaries(engine: Engine, library: ContentLibrary) -> dict[str, int]:
    """A duty phone and a shared mailbox."""
    with session_scope(engine) as session:
        phone = add_canary(
            session, library, channel="sms", address="070-174 06 98", label="Jourtelefon", actor="t"
        )
        mailbox = add_canary(
            session,
            library,
            channel="email",
            address="krisledning@example.se",
            label="Funktionsbrevlåda",
            actor="t",
        )
        return {"sms": phone.id, "email": mailbox.id}


def schedule(
    engine: Engine,
    library: ContentLibrary,
    settings: Settings,
    name: str,
    *,
    now: datetime,
    raw: dict[str, Any] | None = None,
    **options: Any,
) -> int:
    with session_scope(engine) as session:
        stored: ScheduleRecord = add_schedule(
            session,
            library,
            settings,
            NewSchedule(name, raw or quarterly_notice(), **options),
            actor="test",
            now=now,
        )
        return stored.id
