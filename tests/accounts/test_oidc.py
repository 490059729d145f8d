"""OIDC sign-in against a stand-in provider on 127.0.0.1: the whole code flow, and refusals."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.accounts import oidc
from service.accounts.models import OidcRequest, User, WebSession
from service.accounts.roles import Role
from service.audit.models import AuditEvent
from service.config import get_settings
from service.main import app
from service.store.database import session_scope
from tests.accounts.support import make_user, using_database
from tests.fakes.oidc_provider import CLIENT_ID, CLIENT_SECRET, FakeOidcProvider

PERSON = "karin.lind@vasteras.se"


@pytest.fixture
def provider(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeOidcProvider]:
    with FakeOidcProvider(next_claims={"email": PERSON, "name": "Karin Lind"}) as server:
        settings = get_settings()
        for name, value in {
            "oidc_enabled": True,
            "oidc_issuer": server.issuer,
            "oidc_client_id": CLIENT_ID,
            "oidc_client_secret": CLIENT_SECRET,
            "oidc_provider_name": "Stand-in ID",
        }.items():
            monkeypatch.setattr(settings, name, value)
        oidc._cache.clear()
        yield server
        oidc._cache.clear()


@pytest.fixture
def engine(accounts_engine: Engine) -> Iterator[Engine]:
    with using_database(app, accounts_engine):
        yield accounts_engine


def start(client: TestClient, next_path: str = "/api/v1/me") -> str:
    """Click "Sign in with ...": the provider's authorize URL the browser is sent to."""
    response = client.get(
        "/auth/oidc/start", params={"next": next_path, "lang": "en"}, follow_redirects=False
    )
    assert response.status_code == 303, response.text[:500]
    return str(response.headers["location"])


def at_provider(authorize_url: str) -> str:
    """The browser at the provider (signed in there already): where it is sent back to."""
    response = httpx.get(authorize_url, follow_redirects=False, timeout=10)
    assert response.status_code == 302, response.text
    return str(response.headers["location"]).removeprefix("http://testserver")


def sign_in_through_provider(client: TestClient) -> httpx.Response:
    return client.get(at_provider(start(client)), follow_redirects=False)


def test_the_whole_code_flow_with_pkce_state_and_nonce(
    engine: Engine, provider: FakeOidcProvider
) -> None:
    make_user(engine, PERSON, Role.approver, password=None)
    client = TestClient(app)
    assert "Sign in with Stand-in ID" in client.get("/login?lang=en").text
    authorize = start(client)
    query = {k: v[0] for k, v in parse_qs(urlsplit(authorize).query).items()}
    assert authorize.startswith(f"{provider.issuer}/authorize?")
    assert query["redirect_uri"] == "http://testserver/auth/oidc/callback"
    assert query["code_challenge_method"] == "S256" and query["scope"] == "openid email profile"
    back = client.get(at_provider(authorize), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/api/v1/me"
    me = client.get("/api/v1/me").json()
    assert (me["kind"], me["name"], me["roles"]) == ("user", PERSON, ["approver"])
    # The service sent the PKCE verifier whose challenge went to the authorize endpoint.
    [token_request] = provider.token_requests
    verifier = token_request["code_verifier"].encode()
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier).digest()).rstrip(b"=")
    assert challenge.decode() == query["code_challenge"]
    with session_scope(engine) as session:
        assert session.scalar(sa.select(WebSession.method)) == "oidc"
        assert session.scalar(sa.select(sa.func.count()).select_from(OidcRequest)) == 0
        event = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "login.succeeded")
        ).one()
    assert (event.actor, event.details) == (PERSON, {"method": "oidc"})


def test_a_person_without_an_account_is_refused_unless_provisioning_is_on(
    engine: Engine, provider: FakeOidcProvider, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = TestClient(app)
    refused = sign_in_through_provider(client)
    assert refused.status_code == 403
    assert f"There is no Klarvarsel account for {PERSON}" in refused.text
    assert '<html lang="en">' in refused.text  # the language chosen before leaving
    assert client.get("/api/v1/me").status_code == 401
    monkeypatch.setattr(get_settings(), "oidc_auto_provision", True)
    assert sign_in_through_provider(client).status_code == 303
    assert client.get("/api/v1/me").json()["roles"] == ["viewer"]  # the default role
    with session_scope(engine) as session:
        user = session.scalars(sa.select(User)).one()
        assert (user.email, user.display_name, user.password_hash) == (PERSON, "Karin Lind", None)
        created = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "user.created"))
        assert created.one().actor == f"oidc:{provider.issuer}"


def test_entra_ids_preferred_username_stands_in_for_a_missing_email(
    engine: Engine, provider: FakeOidcProvider
) -> None:
    make_user(engine, PERSON, Role.viewer, password=None)
    provider.next_claims = {"preferred_username": PERSON.upper(), "name": "Karin Lind"}
    client = TestClient(app)
    assert sign_in_through_provider(client).status_code == 303
    assert client.get("/api/v1/me").json()["name"] == PERSON


@pytest.mark.parametrize(
    "fault", ["wrong_nonce", "wrong_audience", "expired", "foreign_key", "wrong_issuer"]
)
def test_an_id_token_that_does_not_check_out_signs_nobody_in(
    engine: Engine, provider: FakeOidcProvider, fault: str
) -> None:
    make_user(engine, PERSON, Role.admin, password=None)
    provider.fault = fault
    client = TestClient(app)
    refused = sign_in_through_provider(client)
    assert refused.status_code == 403
    assert "Inloggningen med Stand-in ID fungerade inte" not in refused.text  # English chosen
    assert "Sign-in with Stand-in ID did not work" in refused.text
    assert client.get("/api/v1/me").status_code == 401
    with session_scope(engine) as session:
        event = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "login.failed")
        ).one()
    assert event.details["method"] == "oidc"
    why = {
        "wrong_nonce": "nonce",
        "wrong_audience": "audience 'another-application'",
        "expired": "expired",
        "foreign_key": "signature does not verify",
        "wrong_issuer": "issuer 'https://login.example.invalid",
    }
    assert why[fault] in event.details["reason"]


def test_an_answer_meant_for_another_browser_or_used_twice_is_refused(
    engine: Engine, provider: FakeOidcProvider
) -> None:
    make_user(engine, PERSON, Role.admin, password=None)
    victim = TestClient(app)
    attacker = TestClient(app)
    # The attacker starts a sign-in and makes the victim's browser finish it (login CSRF).
    callback = at_provider(start(attacker))
    assert victim.get(callback, follow_redirects=False).status_code == 403
    assert victim.get("/api/v1/me").status_code == 401
    # A copy of the rightful browser's cookies, taken before it finishes.
    copy = TestClient(app)
    for cookie in attacker.cookies.jar:
        copy.cookies.jar.set_cookie(cookie)
    assert attacker.get(callback, follow_redirects=False).status_code == 303
    # The same answer a second time, with the right cookie: the state was used up.
    assert copy.get(callback, follow_redirects=False).status_code == 403
    assert copy.get("/api/v1/me").status_code == 401


def test_a_disabled_account_is_refused(engine: Engine, provider: FakeOidcProvider) -> None:
    from service.accounts.users import require_user, set_disabled

    make_user(engine, PERSON, Role.viewer, password=None)
    make_user(engine, "admin@vasteras.se", Role.admin, password=None)
    with session_scope(engine) as session:
        set_disabled(session, require_user(session, PERSON), True, actor="t", source="t")
    refused = sign_in_through_provider(TestClient(app))
    assert refused.status_code == 403 and "Your account is disabled" in refused.text


def test_a_provider_that_cannot_be_reached_leaves_password_sign_in_working(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "oidc_enabled", True)
    monkeypatch.setattr(settings, "oidc_issuer", "http://127.0.0.1:9")  # nothing listens
    monkeypatch.setattr(settings, "oidc_timeout_seconds", 2.0)
    oidc._cache.clear()
    response: Any = TestClient(app).get("/auth/oidc/start?lang=en", follow_redirects=False)
    assert response.status_code == 502
    assert 'name="password"' in response.text and "did not work" in response.text
