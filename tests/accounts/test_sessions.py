"""Web sessions: cookie flags, fixation, timeouts, logout, CSRF, and the sign-in page itself."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from service.accounts.keys import digest
from service.accounts.models import LoginAttempt, WebSession
from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE
from service.audit.models import AuditEvent
from service.clock import FrozenClock
from service.config import get_settings
from service.main import app
from service.store.database import session_scope
from tests.accessibility import axe_violations, chromium, describe
from tests.accounts.support import PASSWORD, form_token, make_user, sign_in, using_database

VIEWER = "viewer@example.se"
AUTHOR = "author@example.se"


@pytest.fixture
def engine(accounts_engine: Engine) -> Iterator[Engine]:
    make_user(accounts_engine, VIEWER, Role.viewer)
    make_user(accounts_engine, AUTHOR, Role.author)
    with using_database(app, accounts_engine):
        yield accounts_engine


def sessions(engine: Engine) -> list[WebSession]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(WebSession)))


def actions(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))


def test_the_session_cookie_is_signed_httponly_lax_and_the_database_holds_only_a_digest(
    engine: Engine,
) -> None:
    client = TestClient(app)
    token = form_token(client.get("/login").text)
    response = client.post(
        "/login",
        data={"email": VIEWER, "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    # No page asked for: a person who may read notices starts at the notices.
    assert (response.status_code, response.headers["location"]) == (303, "/notices")
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("kv_session"))
    flags = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # plain http in development: a Secure cookie would be dropped
    assert not any(f.startswith(("max-age", "expires")) for f in flags)  # gone with the browser
    value = cookie.split(";")[0].split("=", 1)[1]
    session_token, _, signature = value.rpartition(".")
    assert session_token and len(signature) >= 40
    [row] = sessions(engine)
    assert row.id == digest(session_token) and session_token not in row.id
    # A cookie whose signature was tampered with is no session at all.
    forged = TestClient(app, cookies={SESSION_COOKIE: session_token + ".AAAA"})
    assert forged.get("/api/v1/me").status_code == 401


def test_the_cookies_are_secure_over_https(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    client = TestClient(app, base_url="https://testserver")
    first = client.get("/login")
    assert "secure" in first.headers["set-cookie"].lower()  # the sign-in form's token
    response = client.post(
        "/login",
        data={"email": VIEWER, "password": PASSWORD, "csrf_token": form_token(first.text)},
        follow_redirects=False,
    )
    cookie = next(c for c in response.headers.get_list("set-cookie") if c.startswith("kv_session"))
    assert "secure" in cookie.lower()
    # Behind a proxy that ends TLS the app sees http: `always` still marks them Secure.
    monkeypatch.setattr(get_settings(), "session_cookie_secure", "always")
    assert "secure" in TestClient(app).get("/login").headers["set-cookie"].lower()
    monkeypatch.setattr(get_settings(), "session_cookie_secure", "never")
    assert "secure" not in TestClient(app).get("/login").headers["set-cookie"].lower()


def test_signing_in_never_keeps_a_session_id_the_browser_already_had(engine: Engine) -> None:
    attacker = TestClient(app)
    sign_in(attacker, AUTHOR)
    planted = attacker.cookies[SESSION_COOKIE]
    # The attacker plants their cookie in the victim's browser; the victim signs in.
    victim = TestClient(app)
    for cookie in attacker.cookies.jar:
        if cookie.name == SESSION_COOKIE:
            victim.cookies.jar.set_cookie(cookie)
    assert victim.get("/api/v1/me").json()["name"] == AUTHOR  # planted
    sign_in(victim, VIEWER)
    assert victim.cookies[SESSION_COOKIE] != planted
    assert victim.get("/api/v1/me").json()["name"] == VIEWER
    # The planted id ended with the sign-in: it is worth nothing to the attacker either.
    assert TestClient(app, cookies={SESSION_COOKIE: planted}).get("/api/v1/me").status_code == 401
    assert len(sessions(engine)) == 1


def test_logout_ends_the_session_on_the_server(engine: Engine) -> None:
    client = TestClient(app)
    csrf = sign_in(client, VIEWER)
    copied = client.cookies[SESSION_COOKIE]
    response = client.post("/logout?lang=en", data={"csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?signed_out=1&lang=en"
    assert sessions(engine) == []
    # Someone who copied the cookie before the logout gets nothing with it.
    assert TestClient(app, cookies={SESSION_COOKIE: copied}).get("/api/v1/me").status_code == 401
    assert "You are signed out." in client.get(response.headers["location"]).text
    assert actions(engine)[-2:] == ["login.succeeded", "logout"]


def test_sessions_end_after_the_idle_and_the_absolute_timeout(
    engine: Engine, frozen_clock: FrozenClock
) -> None:
    client = TestClient(app)
    sign_in(client, VIEWER)
    # Active every 29 minutes: the idle timeout (30) never strikes ...
    for _ in range(int(12 * 60 / 29)):
        frozen_clock.advance(timedelta(minutes=29))
        assert client.get("/api/v1/me").status_code == 200
    # ... but 12 hours after sign-in the session ends whatever happens.
    frozen_clock.advance(timedelta(minutes=29))
    assert client.get("/api/v1/me").status_code == 401
    assert sessions(engine) == []

    sign_in(client, VIEWER)
    frozen_clock.advance(timedelta(minutes=29, seconds=59))
    assert client.get("/api/v1/me").status_code == 200
    frozen_clock.advance(timedelta(minutes=30))
    assert client.get("/api/v1/me").status_code == 401
    assert sessions(engine) == []


def test_a_post_without_the_csrf_token_changes_nothing(engine: Engine) -> None:
    client = TestClient(app)
    csrf = sign_in(client, AUTHOR)
    # Logout without the token (a forged cross-site form): refused, still signed in.
    refused = client.post("/logout", data={}, follow_redirects=False)
    # /logout is a page: the refusal is an error page that still names the reason.
    assert refused.status_code == 403 and "text/html" in refused.headers["content-type"]
    assert "CSRF" in refused.text
    refused = client.post("/logout", data={"csrf_token": "x" * 43}, follow_redirects=False)
    assert refused.status_code == 403
    assert client.get("/api/v1/me").status_code == 200 and len(sessions(engine)) == 1
    # A JSON request on a session needs the token in its header.
    notice = {"scenario": "nope"}
    assert client.post("/api/v1/notices/preview", json=notice).status_code == 403
    with_token = client.post("/api/v1/notices/preview", json=notice, headers={"X-CSRF-Token": csrf})
    assert with_token.status_code == 422  # past the check: the notice itself is invalid
    assert actions(engine).count("access.denied") == 3


def test_a_sign_in_without_the_form_token_signs_nobody_in(engine: Engine) -> None:
    form = {"email": VIEWER, "password": PASSWORD}
    stranger = TestClient(app)
    assert stranger.post("/login", data=form, follow_redirects=False).status_code == 403
    # A token from another browser does not match this browser's cookie.
    other = form_token(TestClient(app).get("/login").text)
    response = stranger.post("/login", data={**form, "csrf_token": other}, follow_redirects=False)
    assert response.status_code == 403
    assert sessions(engine) == []
    with session_scope(engine) as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(LoginAttempt)) == 0


def test_sign_in_goes_only_to_local_pages(engine: Engine) -> None:
    for asked, landed in [
        ("/api/v1/me?x=1", "/api/v1/me?x=1"),
        ("https://evil.example/", "/account"),
        ("//evil.example/", "/account"),
        ("/\\evil.example", "/account"),
    ]:
        client = TestClient(app)
        page = client.get("/login", params={"next": asked}).text
        assert f'name="next" value="{landed}"' in page.replace("&amp;", "&")
        data = {"email": VIEWER, "password": PASSWORD, "csrf_token": form_token(page)}
        response = client.post("/login", data={**data, "next": asked}, follow_redirects=False)
        start = "/notices" if landed == "/account" else landed  # the viewer's start page
        assert response.headers["location"] == start, asked


def _wrong(client: TestClient, email: str, lang: str = "sv") -> Any:
    token = form_token(client.get(f"/login?lang={lang}").text)
    return client.post(
        "/login",
        data={"email": email, "password": "not the password", "csrf_token": token, "lang": lang},
    )


def test_a_wrong_password_and_an_unknown_account_get_the_same_answer(engine: Engine) -> None:
    client = TestClient(app)
    known, unknown = _wrong(client, VIEWER), _wrong(client, "nobody@example.se")
    assert known.status_code == unknown.status_code == 403
    summary = re.compile(r'<div class="error-summary".*?</div>', re.S)
    assert summary.search(known.text).group(0) == summary.search(unknown.text).group(0)  # type: ignore[union-attr]
    assert "E-postadressen eller lösenordet är fel" in known.text
    with session_scope(engine) as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "login.failed")
        ).all()
    assert [(e.actor, e.subject_id, e.details["reason"]) for e in events] == [
        (VIEWER, VIEWER, "wrong password"),
        ("anonymous", "n***@example.se", "unknown account"),  # masked: it may be anyone's
    ]


def test_missing_fields_are_all_named_in_swedish_or_english(engine: Engine) -> None:
    client = TestClient(app)
    for lang, texts in {
        "sv": ["Skriv din e-postadress", "Skriv ditt lösenord", "Fel: Logga in"],
        "en": ["Enter your e-mail address", "Enter your password", "Error: Sign in"],
    }.items():
        token = form_token(client.get(f"/login?lang={lang}").text)
        page = client.post("/login", data={"csrf_token": token, "lang": lang})
        assert page.status_code == 400
        assert f'<html lang="{lang}">' in page.text
        for text in texts:
            assert text in page.text, (lang, text)
        assert 'href="#email"' in page.text and 'href="#password"' in page.text
        assert 'aria-describedby="password-error"' in page.text


def test_a_disabled_account_cannot_sign_in_and_its_sessions_end(engine: Engine) -> None:
    from service.accounts.users import require_user, set_disabled

    client = TestClient(app)
    sign_in(client, VIEWER)
    with session_scope(engine) as session:
        set_disabled(session, require_user(session, VIEWER), True, actor="test", source="test")
    assert client.get("/api/v1/me").status_code == 401
    token = form_token(client.get("/login?lang=en").text)
    page = client.post(
        "/login", data={"email": VIEWER, "password": PASSWORD, "csrf_token": token, "lang": "en"}
    )
    assert page.status_code == 403 and "Your account is disabled" in page.text


def test_the_sign_in_and_account_pages_pass_axe_wcag_22_aa(engine: Engine) -> None:
    client = TestClient(app)
    pages = {
        "sign-in sv": client.get("/login").text,
        "sign-in en": client.get("/login?lang=en").text,
        "sign-in with errors": _wrong(client, VIEWER).text,
    }
    for _ in range(5):
        limited = _wrong(client, VIEWER, "en")
    assert limited.status_code == 429
    pages["sign-in limited"] = limited.text
    sign_in(client, AUTHOR)
    pages["account"] = client.get("/account").text
    pages["account en"] = client.get("/account?lang=en").text
    with chromium() as browser:
        for name, html in pages.items():
            violations = axe_violations(browser, html=html)
            assert violations == [], f"{name}: {describe(violations)}"


def test_the_page_signing_in_lands_on_leads_on_to_the_notices(engine: Engine) -> None:
    """After signing in, the account page is not a dead end: it links to the notices."""
    client = TestClient(app)
    sign_in(client, AUTHOR)
    page = client.get("/account")
    assert '<a href="/notices?lang=sv">Till meddelandena</a>' in page.text
    assert client.get("/notices?lang=sv").status_code == 200
