"""Passwords: Argon2id, a minimum length, the common-password lists, rehash on sign-in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from service.accounts.models import User
from service.accounts.passwords import (
    common_passwords,
    hash_password,
    password_problems,
    verify_password,
)
from service.accounts.roles import Role
from service.accounts.users import AccountError, create_user
from service.config import Settings
from service.store.database import session_scope
from tests.accounts.support import PASSWORD, make_user


def problems(password: str, email: str = "anna.svensson@example.se") -> list[str]:
    return [str(p) for p in password_problems(password, email=email)]


def test_the_production_default_is_rfc_9106s_argon2id() -> None:
    defaults = {name: field.default for name, field in Settings.model_fields.items()}
    assert (defaults["password_hash_memory_kib"], defaults["password_hash_time_cost"]) == (65536, 3)
    assert defaults["password_min_length"] == 12
    stored = hash_password("ett långt lösenord 2026")
    assert stored.startswith("$argon2id$v=19$")
    assert verify_password(stored, "ett långt lösenord 2026")
    assert not verify_password(stored, "ett långt lösenord 2027")
    assert not verify_password(None, "anything at all")  # an OIDC-only account
    assert not verify_password("not a hash", "anything at all")


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("kort", ["is shorter than 12 characters"]),
        ("Password1234", ["is one of the most common passwords (or one with digits added)"]),
        ("qwertyuiop123!", ["is one of the most common passwords (or one with digits added)"]),
        ("Sommar2026!!!", ["is one of the most common passwords (or one with digits added)"]),
        ("lösenordlösenord", ["is one of the most common passwords (or one with digits added)"]),
        ("aaaaaaaaaaaaaaaa", ["is one of the most common passwords (or one with digits added)"]),
        ("abababababab1", ["uses fewer than 5 different characters"]),
        ("sommarsommar", ["is one of the most common passwords (or one with digits added)"]),
        ("anna.svensson-2026", ["contains the e-mail address"]),
        ("xyz" * 86, ["is longer than 256 characters", "uses fewer than 5 different characters"]),
        ("granskad kris plan 2026", []),
        ("Ängsvägen 14 i Skultuna", []),
    ],
)
def test_weak_passwords_are_refused_with_every_reason(password: str, expected: list[str]) -> None:
    assert problems(password) == expected


def test_the_lists_ship_with_the_package() -> None:
    common = common_passwords()
    assert len(common) > 19_000
    assert {"123456", "password", "lösenord", "sommar", "qwerty"} <= common


def test_creating_a_user_reports_every_problem_at_once(accounts_engine: sa.Engine) -> None:
    with pytest.raises(AccountError) as refused, session_scope(accounts_engine) as session:
        create_user(
            session, email="not-an-address", roles=[], password="kort", actor="t", source="t"
        )
    assert str(refused.value) == (
        "email: 'not-an-address' is not an e-mail address; roles: name at least one role; "
        "password: is shorter than 12 characters"
    )


def test_a_hash_made_with_older_parameters_is_renewed_at_sign_in(
    accounts_engine: sa.Engine,
) -> None:
    from fastapi.testclient import TestClient

    from service.main import app
    from tests.accounts.support import sign_in, using_database

    make_user(accounts_engine, "viewer@example.se", Role.viewer)
    old = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    with session_scope(accounts_engine) as session:
        session.execute(sa.update(User).values(password_hash=old))
    with using_database(app, accounts_engine):
        sign_in(TestClient(app), "viewer@example.se")
    with session_scope(accounts_engine) as session:
        renewed = session.scalars(sa.select(User.password_hash)).one()
    assert renewed != old and renewed is not None and "t=3" in renewed
    assert verify_password(renewed, PASSWORD)
