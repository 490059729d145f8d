"""Fixtures for the accounts tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from service.config import get_settings
from service.store.database import get_engine


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
