"""Sign-in limits per account and per address, with their Swedish and English messages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.accounts.limits import account_key
from service.accounts.models import LoginAttempt
from service.accounts.roles import Role
from service.audit.models import AuditEvent
from service.clock import FrozenClock
from service.main import app
from service.store.database import session_scope
from tests.accounts.support import PASSWORD, form_token, make_user, using_database

VIEWER = "viewer@example.se"


@pytest.fixture
def engine(accounts_engine: Engine) -> Iterator[Engine]:
    make_user(accounts_engine, VIEWER, Role.viewer)
    with using_database(app, accounts_engine):
        yield accounts_engine


def attempt(email: str, password: str, *, lang: str = "sv", address: str = "203.0.113.7") -> Any:
    client = TestClient(app, client=(address, 50000))
    token = form_token(client.get("/login").text)
    return client.post(
        "/login",
        data={"email": email, "password": password, "csrf_token": token, "lang": lang},
        follow_redirects=False,
    )


def test_an_account_is_locked_after_five_failures_even_with_the_right_password(
    engine: Engine, frozen_clock: FrozenClock
) -> None:
    for _ in range(5):
        assert attempt(VIEWER, "guess guess guess").status_code == 403
    locked = attempt(VIEWER, PASSWORD)  # the right password, too late
    assert locked.status_code == 429
    assert locked.headers["retry-after"] == str(15 * 60)
    assert "För många misslyckade inloggningsförsök. Vänta 15 minuter och försök igen." in (
        locked.text
    )
    english = attempt(VIEWER, PASSWORD, lang="en")
    assert "Too many failed sign-in attempts. Wait 15 minutes and try again." in english.text
    # From another address too: it is the account that is being guessed.
    assert attempt(VIEWER, PASSWORD, address="198.51.100.9").status_code == 429
    frozen_clock.advance(timedelta(minutes=14, seconds=30))
    one = attempt(VIEWER, PASSWORD, lang="en")
    assert "Wait 1 minute and try again." in one.text and one.headers["retry-after"] == "30"
    frozen_clock.advance(timedelta(seconds=30))
    assert attempt(VIEWER, PASSWORD).status_code == 303
    # A success starts the count again.
    assert attempt(VIEWER, "guess guess guess").status_code == 403
    assert attempt(VIEWER, PASSWORD).status_code == 303
    with session_scope(engine) as session:
        limited = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "login.limited")
        ).all()
    assert len(limited) == 4 and limited[0].details["by"] == "account"
    assert limited[0].source == "web 203.0.113.7"


def test_an_address_trying_many_accounts_is_stopped(
    engine: Engine, frozen_clock: FrozenClock
) -> None:
    for i in range(20):
        assert attempt(f"person{i}@example.se", "guess guess guess").status_code == 403
    refused = attempt(VIEWER, PASSWORD)
    assert refused.status_code == 429
    assert attempt(VIEWER, PASSWORD, address="198.51.100.9").status_code == 303
    frozen_clock.advance(timedelta(minutes=15))
    assert attempt(VIEWER, PASSWORD).status_code == 303


def test_attempts_are_stored_without_the_address_typed_and_forgotten_after_a_day(
    engine: Engine, frozen_clock: FrozenClock
) -> None:
    attempt("someone.private@example.se", "guess guess guess")
    with session_scope(engine) as session:
        [row] = session.scalars(sa.select(LoginAttempt)).all()
        assert row.account_key == account_key("someone.private@example.se")
        assert "someone" not in row.account_key
    frozen_clock.advance(timedelta(days=1, minutes=1))
    attempt(VIEWER, PASSWORD)
    with session_scope(engine) as session:
        assert session.scalars(sa.select(LoginAttempt.succeeded)).all() == [True]
