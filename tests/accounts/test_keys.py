"""API keys: shown once, stored as a digest, refused when revoked or expired, use recorded."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.accounts.cli import keys_app
from service.accounts.keys import KEY_PATTERN
from service.accounts.models import ApiKey
from service.audit.models import AuditEvent
from service.cli import app as cli
from service.clock import FrozenClock
from service.main import app
from service.store.database import get_engine, session_scope
from tests.accounts.support import bearer, using_database

runner = CliRunner()


def create(*args: str) -> tuple[str, str]:
    """`klarvarsel api-keys create ...`: the key (stdout) and what was said about it (stderr)."""
    result = runner.invoke(keys_app, ["create", *args])
    assert result.exit_code == 0, result.output
    return result.stdout.strip(), result.stderr


def test_the_key_is_shown_once_and_the_database_never_holds_it(cli_db: str) -> None:
    key, said = create("--name", "Larmcentralen", "--scopes", "notices:read,reports:read")
    match = KEY_PATTERN.match(key)
    assert match, key
    prefix, secret = match.group(1), match.group(2)
    assert prefix.startswith("kv_live_") and f"created key {prefix}" in said
    assert "not shown again" in said
    # Every byte of the database, as text: the prefix is there to recognise the key, the key
    # and its secret part are not.
    dump = "\n".join(sqlite3.connect(cli_db.removeprefix("sqlite:///")).iterdump())
    assert prefix in dump
    assert key not in dump and secret not in dump
    listed = runner.invoke(keys_app, ["list"]).stdout
    assert prefix in listed and "Larmcentralen" in listed and secret not in listed
    assert "notices:read,reports:read" in listed and "never" in listed


def test_scopes_are_checked_all_at_once(cli_db: str) -> None:
    result = runner.invoke(keys_app, ["create", "--name", "x", "--scopes", "notices:reed,sms"])
    assert result.exit_code == 2
    assert "unknown scope 'notices:reed', 'sms'; valid: notices:read" in result.stderr


def test_a_revoked_key_is_refused_from_the_next_request_on(cli_db: str) -> None:
    key, _ = create("--name", "Gamla systemet", "--scopes", "notices:read")
    engine = get_engine()
    with using_database(app, engine):
        client = TestClient(app, headers=bearer(key))
        assert client.get("/api/v1/me").status_code == 200
        result = runner.invoke(keys_app, ["revoke", key[:16]])
        assert result.exit_code == 0 and "is revoked" in result.stdout
        refused = client.get("/api/v1/me")
    assert refused.status_code == 401 and refused.json()["detail"] == "the API key was revoked"
    assert 'error="invalid_token"' in refused.headers["www-authenticate"]
    assert "revoked" in runner.invoke(keys_app, ["list"]).stdout
    assert "already revoked" in runner.invoke(keys_app, ["revoke", key[:16]]).stdout
    with session_scope(engine) as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor, AuditEvent.details).order_by(
                AuditEvent.id
            )
        ).all()
    assert [(a, d.get("reason")) for a, _, d in events] == [
        ("key.created", None),
        ("key.revoked", None),
        ("key.refused", "revoked"),
    ]
    assert events[2].actor == f"key:{key[:16]}"


def test_an_expired_key_is_refused(cli_db: str, frozen_clock: FrozenClock) -> None:
    key, said = create("--name", "Kortlivad", "--scopes", "notices:read", "--expires-in-days", "7")
    assert "expires 2026-11-30" in said
    with using_database(app, get_engine()):
        client = TestClient(app, headers=bearer(key))
        frozen_clock.advance(timedelta(days=7) - timedelta(seconds=1))
        assert client.get("/api/v1/scenarios").status_code == 200
        frozen_clock.advance(timedelta(seconds=1))
        refused = client.get("/api/v1/scenarios")
    assert refused.status_code == 401 and refused.json()["detail"] == "the API key has expired"
    assert "expired" in runner.invoke(keys_app, ["list"]).stdout


def test_a_wrong_secret_with_a_real_prefix_is_refused_and_audited(
    accounts_engine: sa.Engine,
) -> None:
    from tests.accounts.support import api_key

    key = api_key(accounts_engine, "notices:read")
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
    with using_database(app, accounts_engine):
        refused = TestClient(app, headers=bearer(wrong)).get("/api/v1/me")
        basic = TestClient(app, headers={"Authorization": "Basic dXNlcjpwdw=="}).get("/api/v1/me")
    assert refused.status_code == 401 and refused.json()["detail"] == "the API key is not valid"
    assert (
        basic.status_code == 401 and 'error="invalid_request"' in basic.headers["www-authenticate"]
    )
    with session_scope(accounts_engine) as session:
        event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "key.refused"))
        assert event.one().details == {"reason": "wrong secret"}


def test_last_use_is_recorded_at_most_once_a_minute(
    accounts_engine: sa.Engine, frozen_clock: FrozenClock
) -> None:
    from tests.accounts.support import api_key

    key = api_key(accounts_engine, "notices:read")

    def last_use() -> tuple[object, object]:
        with session_scope(accounts_engine) as session:
            row = session.scalars(sa.select(ApiKey)).one()
            return row.last_used_at, row.last_used_from

    assert last_use() == (None, None)
    with using_database(app, accounts_engine):
        client = TestClient(app, headers=bearer(key), client=("192.0.2.10", 1234))
        client.get("/api/v1/me")
        first = last_use()
        frozen_clock.advance(timedelta(seconds=30))
        client.get("/api/v1/me")
        assert last_use() == first
        frozen_clock.advance(timedelta(seconds=31))
        client.get("/api/v1/me")
    at, where = last_use()
    assert where == "192.0.2.10" and at is not None and at != first[0]


def test_the_top_level_command_mounts_users_keys_and_audit(cli_db: str) -> None:
    for command in ("users", "api-keys", "audit"):
        result = runner.invoke(cli, [command, "--help"])
        assert result.exit_code == 0, result.output
