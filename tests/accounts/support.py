"""Helpers for tests that call protected routes: keys, users, signing in, a database per app."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.accounts.keys import create_key
from service.accounts.roles import Role, Scope, parse_scopes
from service.accounts.users import create_user
from service.api.deps import session_dependency
from service.channels.inbox import ReceiptWriter
from service.channels.sms.callback_views import receipt_writer_dependency
from service.store.database import session_scope

PASSWORD = "granskad-kris-plan-2026"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def api_key(
    engine: Engine,
    *scopes: str | Scope,
    test: bool = False,
    expires_at: datetime | None = None,
    name: str = "test system",
) -> str:
    """A new API key with these scopes; the whole key (as the creator sees it once)."""
    with session_scope(engine) as session:
        return create_key(
            session,
            name=name,
            scopes=parse_scopes([str(s) for s in scopes]),
            actor="test",
            source="test",
            test=test,
            expires_at=expires_at,
        ).secret


def bearer(key: str) -> dict[str, str]:
    """The header that sends `key`."""
    return {"Authorization": f"Bearer {key}"}


def make_user(engine: Engine, email: str, *roles: Role, password: str | None = PASSWORD) -> None:
    """A user with these roles."""
    with session_scope(engine) as session:
        create_user(
            session, email=email, roles=roles, password=password, actor="test", source="test"
        )


def form_token(html: str) -> str:
    """The CSRF token a page's form carries."""
    match = CSRF_FIELD.search(html)
    assert match, "the page has no form with a csrf_token"
    return match.group(1)


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> str:
    """Sign in through the form, as a browser does; the session's CSRF token."""
    token = form_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text[:2000]
    return form_token(client.get("/account").text)


@contextmanager
def using_database(app: FastAPI, engine: Engine) -> Iterator[None]:
    """Every request of `app` uses `engine` (the app's routes and the permission checks)."""

    def session_for_test() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session

    writer = ReceiptWriter(engine)  # provider receipts go to this database's inbox too
    app.dependency_overrides[session_dependency] = session_for_test
    app.dependency_overrides[receipt_writer_dependency] = lambda: writer
    try:
        yield
    finally:
        app.dependency_overrides.pop(session_dependency, None)
        app.dependency_overrides.pop(receipt_writer_dependency, None)
        writer.close()
