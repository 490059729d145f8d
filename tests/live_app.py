"""The real application (service.main.app) served by uvicorn on 127.0.0.1 with its own database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from service.api.deps import session_dependency
from service.content import ContentLibrary
from service.main import app
from service.notices.publish import publish_notice
from service.notices.service import validate_notice
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from tests.accounts.support import api_key, bearer
from tests.conftest import ROOT, load_json
from tests.fakes import ServerThread


@dataclass(frozen=True)
class LiveApp:
    """Where the app answers, the code of a published water-outage notice, and the header of a
    key that reads content and previews notices (an author's system)."""

    url: str
    code: str
    headers: dict[str, str]


@contextmanager
def live_app(folder: Path, library: ContentLibrary) -> Iterator[LiveApp]:
    """Serve the whole app (middleware included) over HTTP, with one notice published."""
    url = f"sqlite:///{folder / 'klarvarsel.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    raw = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    with session_scope(engine) as session:
        code = publish_notice(
            session, validate_notice(raw, library), raw, actor="test", source="test"
        ).code

    headers = bearer(api_key(engine, "notices:read", "notices:write"))

    def session_override() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session

    app.dependency_overrides[session_dependency] = session_override
    try:
        with ServerThread(app) as server:
            yield LiveApp(server.url, code, headers)
    finally:
        app.dependency_overrides.pop(session_dependency, None)
        engine.dispose()
