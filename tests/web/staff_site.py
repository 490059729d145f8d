"""A deployment for the staff page tests: its own var/ (database, outbox), one user per role."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.accounts.models import User
from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE, sign, start_session
from service.config import get_settings
from service.store.database import get_engine, session_scope
from service.store.migrate import upgrade
from tests.accounts.support import make_user


@dataclass(frozen=True)
class StaffSite:
    """The configured database and where the outbox writes."""

    engine: Engine
    var_dir: Path

    def session_cookie(self, role: Role) -> tuple[str, str]:
        """A fresh session of the role's user: (signed cookie value, CSRF token)."""
        with session_scope(self.engine) as session:
            user = session.scalars(sa.select(User).where(User.email == email_of(role))).one()
            row, token = start_session(
                session, user, method="password", address="test", user_agent="test"
            )
            return sign(token, "session"), row.csrf_token

    def client(self, role: Role, app: object) -> tuple[TestClient, str]:
        """A TestClient signed in as the role's user, and the session's CSRF token."""
        cookie, csrf = self.session_cookie(role)
        client = TestClient(app)  # type: ignore[arg-type]
        client.cookies.set(SESSION_COOKIE, cookie)
        return client, csrf


def email_of(role: Role) -> str:
    """The test user of a role."""
    return f"{role.value}@kommun.example.se"


@contextmanager
def staff_site(folder: Path) -> Iterator[StaffSite]:
    """Settings from the environment, as a deployment: var/ in `folder`, migrated, users made."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KLARVARSEL_VAR_DIR", str(folder / "var"))
        patch.setenv("KLARVARSEL_SECRET_KEY", "staff-page-tests")
        patch.delenv("KLARVARSEL_PUBLIC_BASE_URL", raising=False)
        patch.delenv("KLARVARSEL_DATABASE_URL", raising=False)
        get_settings.cache_clear()
        get_engine.cache_clear()
        upgrade(get_settings().effective_database_url)
        engine = get_engine()
        for role in Role:
            make_user(engine, email_of(role), role)
        try:
            yield StaffSite(engine, folder / "var")
        finally:
            engine.dispose()
            get_settings.cache_clear()
            get_engine.cache_clear()


def summary(page: str) -> list[str]:
    """The error summary's messages, as text."""
    block = re.search(r'<div class="error-summary".*?</div>', page, re.DOTALL)
    assert block, "the page has no error summary"
    items = re.findall(r"<li>(.*?)</li>", block.group(0), re.DOTALL)
    return [html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in items]
