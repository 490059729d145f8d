"""`klarvarsel users`, `klarvarsel audit` and the demo users of `make run`."""

from __future__ import annotations

import json

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from service.accounts.cli import users_app
from service.accounts.demo import DEMO_USERS
from service.accounts.models import WebSession
from service.audit.cli import app as audit_app
from service.audit.service import record
from service.demo import app as demo_app
from service.main import app
from service.store.database import get_engine, session_scope
from tests.accounts.support import PASSWORD, sign_in, using_database

runner = CliRunner()
ADMIN = "kerstin.admin@vasteras.se"


def users(*args: str, input: str | None = None) -> tuple[int, str]:
    result = runner.invoke(users_app, list(args), input=input)
    return result.exit_code, result.output


def test_the_first_admin_is_created_and_told_how_to_sign_in(cli_db: str) -> None:
    code, out = users(
        "create", "--email", ADMIN, "--role", "admin", "--password-stdin", input=PASSWORD + "\n"
    )
    assert code == 0, out
    assert f"created {ADMIN} with the roles admin" in out
    assert f"sign in at http://127.0.0.1:8000/login as {ADMIN}" in out
    with using_database(app, get_engine()):
        client = TestClient(app)
        sign_in(client, ADMIN)
        assert client.get("/api/v1/me").json()["scopes"][0] == "admin"
    code, out = users("list")
    assert ADMIN in out and "admin" in out and "active" in out


def test_bad_requests_say_everything_that_is_wrong(cli_db: str) -> None:
    code, out = users(
        "create", "--email", "not-an-address", "--role", "admin", "--password-stdin", input="kort\n"
    )
    assert code == 2
    assert "email: 'not-an-address' is not an e-mail address" in out
    assert "password: is shorter than 12 characters" in out
    code, out = users("create", "--email", ADMIN, "--role", "boss", "--role", "kung", input="")
    assert code == 2 and "unknown role 'boss', 'kung'; valid: author, approver, admin" in out
    code, out = users("create", "--email", ADMIN, "--role", "admin")
    assert code == 2 and "use --password-stdin" in out  # no terminal to ask on
    users("create", "--email", ADMIN, "--role", "admin", "--oidc-only")
    code, out = users("create", "--email", ADMIN.upper(), "--role", "viewer", "--oidc-only")
    assert code == 2 and f"a user {ADMIN} already exists" in out
    code, out = users("disable", "nobody@example.se")
    assert code == 2 and "no user has the e-mail address nobody@example.se" in out


def test_disable_enable_roles_and_password_reset(cli_db: str) -> None:
    users("create", "--email", ADMIN, "--role", "admin", "--password-stdin", input=PASSWORD + "\n")
    code, out = users("disable", ADMIN)
    assert code == 2 and "last active admin" in out
    code, out = users("set-roles", ADMIN, "--role", "viewer")
    assert code == 2 and "last active admin" in out
    other = "per.author@vasteras.se"
    users("create", "--email", other, "--role", "author", "--password-stdin", input=PASSWORD + "\n")
    with using_database(app, get_engine()):
        client = TestClient(app)
        sign_in(client, other)
        assert users("set-roles", other, "--role", "author", "--role", "viewer")[0] == 0
        # Roles are read at every request: the new scopes apply at once.
        assert "reports:read" in client.get("/api/v1/me").json()["scopes"]
        assert users("disable", other) == (0, f"{other} is disabled and signed out everywhere\n")
        assert client.get("/api/v1/me").status_code == 401
        assert users("enable", other)[0] == 0
        sign_in(client, other)
        new = "en helt annan mening 2026"
        code, out = users("reset-password", other, "--password-stdin", input=new + "\n")
        assert code == 0, out
        assert client.get("/api/v1/me").status_code == 401  # signed out everywhere
        sign_in(client, other, new)
    with session_scope(get_engine()) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(WebSession)) == 1


def test_the_audit_lists_and_filters_with_personal_data_masked(cli_db: str) -> None:
    users("create", "--email", ADMIN, "--role", "admin", "--oidc-only", "--actor", "it@vasteras.se")
    with session_scope(get_engine()) as session:
        record(
            session,
            actor="it@vasteras.se",
            action="recipient.exported",
            subject_type="recipient",
            subject_id="anna@example.se",
            source="cli",
            details={"note": "called +46701234567 and mailed anna@example.se"},
        )
    result = runner.invoke(audit_app, ["--actor", "it@vasteras.se"])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 2 and "recipient.exported" in lines[0] and "user.created" in lines[1]
    assert "anna@example.se" not in result.stdout and "+46701234567" not in result.stdout
    assert "a***@example.se" in lines[0] and "+4670***67" in lines[0]
    assert ADMIN in lines[1]  # a staff account is who acted, not personal data to hide
    assert "2 events" in result.stderr
    rows = [
        json.loads(line)
        for line in runner.invoke(audit_app, ["--action", "user", "--json"]).stdout.splitlines()
    ]
    assert [(r["action"], r["subject"]) for r in rows] == [("user.created", f"user:{ADMIN}")]
    assert runner.invoke(audit_app, ["--since", "1h", "--limit", "1"]).stdout.count("\n") == 1
    bad = runner.invoke(audit_app, ["--since", "last tuesday"])
    assert bad.exit_code == 2 and "use 30m, 12h, 7d" in bad.stderr


def test_demo_data_creates_one_user_per_role_once(cli_db: str) -> None:
    first = runner.invoke(demo_app, [])
    assert first.exit_code == 0, first.output
    for email, role, password in DEMO_USERS:
        assert f"{role.value:<9} {email:<22} password: {password}" in first.stdout
    again = runner.invoke(demo_app, [])
    assert "demo users not created" in again.stdout
    with using_database(app, get_engine()):
        for email, role, password in DEMO_USERS:
            client = TestClient(app)
            sign_in(client, email, password)
            assert client.get("/api/v1/me").json()["roles"] == [role.value]
