"""Shared fixtures: the shipped content, sample notices, and real SQLite/PostgreSQL databases."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

# Argon2id at a tenth of production's memory: the tests hash hundreds of passwords on two cores.
# The production default (64 MiB, 3 passes) is checked in tests/accounts/test_passwords.py.
os.environ.setdefault("KLARVARSEL_PASSWORD_HASH_MEMORY_KIB", "8192")

from service.clock import FrozenClock, ShiftedClock, set_clock
from service.content import ContentLibrary, get_library

ROOT = Path(__file__).resolve().parent.parent
# The sample notices the product must accept (copied in: the project stands alone).
SAMPLE_NOTICES = ROOT / "demo" / "notices"
POSTGRES_URL = os.environ.get(
    "KLARVARSEL_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)


# Every test runs at this time, whatever the date on the machine: before every sample notice
# starts, so their texts are in the future tense. A test that needs another time pins its own.
TEST_NOW = datetime.fromisoformat("2026-11-23T08:00:00+01:00")


@pytest.fixture(autouse=True)
def pinned_clock() -> Iterator[ShiftedClock]:
    """The service clock starts at TEST_NOW and runs (workers and retries need time to pass)."""
    clock = ShiftedClock(TEST_NOW)
    set_clock(clock)
    yield clock
    set_clock(None)


@pytest.fixture
def frozen_clock() -> Iterator[FrozenClock]:
    """A clock that stands still at TEST_NOW until the test moves it."""
    clock = FrozenClock(TEST_NOW)
    set_clock(clock)
    yield clock
    set_clock(None)


@pytest.fixture
def var_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """The service's var/ (SQLite database, outbox, server address) in a fresh, migrated folder.

    Commands and the app read settings from the environment, so this isolates both.
    """
    from service.config import get_settings
    from service.store.database import get_engine
    from service.store.migrate import upgrade

    folder = tmp_path / "var"
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(folder))
    for name in ("DATABASE_URL", "PUBLIC_BASE_URL"):
        monkeypatch.delenv(f"KLARVARSEL_{name}", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade(get_settings().effective_database_url)
    yield folder
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def author_headers(var_dir: Path) -> dict[str, str]:
    """The header of a key that reads content and previews notices, in var_dir's database."""
    from service.store.database import get_engine
    from tests.accounts.support import api_key, bearer

    return bearer(api_key(get_engine(), "notices:read", "notices:write"))


@pytest.fixture(scope="session")
def library() -> ContentLibrary:
    return get_library()


def load_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text("utf-8"))
    return data


@pytest.fixture
def water_notice() -> dict[str, Any]:
    return load_json(ROOT / "message_templates" / "water_outage" / "example.json")


def _postgres_available() -> str | None:
    try:
        engine = sa.create_engine(POSTGRES_URL)
        with engine.connect():
            pass
        engine.dispose()
    except Exception as exc:  # any driver error means "not reachable"
        return str(exc)
    return None


@pytest.fixture(scope="session")
def postgres_server() -> str:
    """The PostgreSQL URL, once it is known to answer; never skipped when CI=true."""
    problem = _postgres_available()
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL is required in CI but not reachable: {problem}")
        pytest.skip(f"PostgreSQL not reachable: {problem}")
    return POSTGRES_URL


@pytest.fixture
def postgres_url(postgres_server: str) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh, empty schema of its own."""
    schema = f"kv_test_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(postgres_server)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    yield f"{postgres_server}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'klarvarsel.sqlite3'}"


@pytest.fixture
def accounts_engine(sqlite_url: str) -> Iterator[sa.Engine]:
    """A migrated SQLite database for tests that need keys or users."""
    from service.store.database import make_engine
    from service.store.migrate import upgrade

    upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each store test runs on both databases."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'klarvarsel.sqlite3'}"
    url: str = request.getfixturevalue("postgres_url")
    return url
