"""Fixtures for the accounts tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from service.config import get_settings
from service.store.database import get_engine, make_engine
from service.store.migrate import upgrade


@pytest.fixture
def cli_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A private SQLite database for the commands, configured as a deployment would."""
    url = f"sqlite:///{tmp_path / 'var' / 'klarvarsel.sqlite3'}"
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("KLARVARSEL_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine().dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def accounts_engine(database_url: str) -> Iterator[sa.Engine]:
    """The accounts tests run on SQLite and on PostgreSQL (times come back differently)."""
    upgrade(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()
