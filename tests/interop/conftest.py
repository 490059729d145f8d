"""Helpers for the CAP tests: a migrated store, publishing, and the CAP schema from test data."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import xmlschema
from sqlalchemy.orm import Session

from service.clock import FrozenClock
from service.config import Settings, get_settings
from service.content import ContentLibrary
from service.notices.models import NoticeRecord
from service.notices.publish import publish_notice, reference_lookup
from service.notices.service import validate_notice
from service.store.database import session_scope
from tests.conftest import ROOT

CAP_DATA = ROOT / "tests" / "data" / "cap"
# The copy of the OASIS schema the project keeps as test data: exports are checked against it
# independently of the copy the service ships.
XSD_PATH = ROOT / "tests" / "data" / "standards" / "cap-v1.2.xsd"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


@pytest.fixture(scope="session")
def xsd() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(XSD_PATH))


@pytest.fixture
def settings(var_dir: Path) -> Settings:
    return get_settings()


@pytest.fixture
def session(var_dir: Path, frozen_clock: FrozenClock) -> Iterator[Session]:
    """A session on a fresh, migrated SQLite store, with the clock standing still."""
    with session_scope() as opened:
        yield opened


def publish(session: Session, raw: dict[str, Any], library: ContentLibrary) -> NoticeRecord:
    """Validate (references checked against the store) and publish, as `deliver` does."""
    notice = validate_notice(raw, library, references=reference_lookup(session))
    return publish_notice(session, notice, raw, actor="test", source="test")


def sample(name: str) -> bytes:
    return (CAP_DATA / name).read_bytes()
