"""The authorisation matrix, built from the app's own route table.

Every route is called with no credentials, a malformed key, a well-formed unknown key, a key
lacking the route's scope, a test key, the right key, and a session of each role. A route that
makes no permission decision fails `test_every_route_decides`; a route the matrix does not know
how to call fails `test_the_matrix_covers_every_route`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi import APIRouter, Depends, FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from starlette.routing import Mount
from twilio.request_validator import RequestValidator

from service.accounts.models import User
from service.accounts.permissions import (
    Decision,
    access_decision,
    app_routes,
    open_route,
    route_name,
    undecided_routes,
)
from service.accounts.roles import ROLE_SCOPES, Role, Scope
from service.accounts.sessions import SESSION_COOKIE, sign, start_session
from service.channels.sms.callback_views import settings_dependency
from service.clock import ShiftedClock, set_clock
from service.config import Settings, get_settings
from service.content import ContentLibrary, get_library
from service.delivery.models import Delivery
from service.main import app
from service.recipients.areas import load_areas
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from service.workflow.approval import approve
from service.workflow.drafts import create_draft
from service.workflow.schemas import Actor
from tests.accounts.support import PASSWORD, api_key, form_token, make_user, using_database
from tests.conftest import ROOT, TEST_NOW
from tests.delivery.test_planning import notice_raw, person, plan, publish, register

TWILIO_TOKEN = "matrix-auth-token"
BASE = "http://testserver"


@dataclass
class World:
    """A database with an actual and an exercise notice (all deliveries final), and users."""

    engine: Engine
    actual: str
    exercise: str
    water: dict[str, Any]
    recipient: int = 0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, library: ContentLibrary) -> Iterator[World]:
    set_clock(ShiftedClock(TEST_NOW))
    url = f"sqlite:///{tmp_path_factory.mktemp('matrix') / 'klarvarsel.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    areas = load_areas(ROOT / "areas.toml")
    people = register(
        engine,
        person("Ali", phone="+46701000001", groups=["exercise-participants"]),
        person("Dana"),
    )
    actual, notice = publish(engine, library, notice_raw())
    plan(engine, actual, notice, library, areas)
    exercise, notice = publish(engine, library, notice_raw(mode="exercise"))
    plan(engine, exercise, notice, library, areas)
    with session_scope(engine) as session:
        session.execute(
            sa.update(Delivery)
            .where(Delivery.status == "planned")
            .values(status="delivered")  # every stream ends at once
        )
    for role in Role:
        make_user(engine, f"{role.value}@example.se", role)
    make_user(engine, "signs-in@example.se", Role.viewer)
    water = dict(notice_raw(ROOT / "message_templates" / "water_outage" / "example.json"))
    set_clock(None)
    with using_database(app, engine):
        app.dependency_overrides[settings_dependency] = lambda: Settings(
            twilio_auth_token=TWILIO_TOKEN, public_base_url=BASE
        )
        yield World(engine, actual.code, exercise.code, water, people["Ali"])
        app.dependency_overrides.pop(settings_dependency, None)
    engine.dispose()


OPEN = "open"
ANYONE_KNOWN = "any key or person"
PERSON = "a signed-in person"


@dataclass
class Call:
    """How to call a route, and what it must require (the issue's decision, written down)."""

    method: str
    path: Callable[[World, str], str]
    needs: str
    ok: int = 200
    touches: bool = False
    json: Callable[[World, str], Any] | None = None
    prepare: Callable[[TestClient, World], dict[str, Any]] = field(
        default=lambda _client, _world: {}
    )


def _code(world: World, mode: str) -> str:
    return world.actual if mode == "actual" else world.exercise


def _twilio_form(_client: TestClient, _world: World) -> dict[str, Any]:
    form = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered"}
    path = "/api/v1/callbacks/twilio/status"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(BASE + path, form)
    return {"data": form, "headers": {"X-Twilio-Signature": signature}}


def _login_form(client: TestClient, _world: World) -> dict[str, Any]:
    token = form_token(client.get("/login").text)
    form = {"email": "signs-in@example.se", "password": PASSWORD, "csrf_token": token}
    return {"data": form, "follow_redirects": False}


def _preview(world: World, mode: str) -> dict[str, Any]:
    return {**world.water, "mode": mode}


def _notice_route(suffix: str) -> Call:
    path = f"/api/v1/notices/{{code}}/{suffix}"
    return Call(
        "GET", lambda w, m: path.format(code=_code(w, m)), needs="reports:read", touches=True
    )


def _light(mode: str) -> dict[str, Any]:
    """A small notice of its own (the note makes its content unique, so each may be sent)."""
    raw = notice_raw(ROOT / "message_templates" / "water_outage" / "example.json", mode=mode)
    raw.update(audiences=["general-public"], languages=["sv"], channels=["sms"])
    raw["note"] = {"sv": f"Matris {uuid.uuid4().hex[:8]}"}
    return raw


def _fresh(world: World, mode: str, *, approved: bool = False) -> str:
    """A new draft (approved by someone else if asked) to take one workflow step on."""
    library = get_library()
    with session_scope(world.engine) as session:
        draft = create_draft(
            session, _light(mode), library, Actor("matrix@example.se", "test"), complete=True
        )
        if approved:
            approve(session, draft, library, get_settings(), Actor("other@example.se", "test"))
        return draft.code


def _step(step: str, *, approved: bool = False) -> Callable[[World, str], str]:
    return lambda w, m: f"/api/v1/notices/{_fresh(w, m, approved=approved)}/{step}"


def _new_recipient(world: World, _mode: str) -> str:
    return f"/api/v1/recipients/{register(world.engine, person('Kim'))['Kim']}"


RECIPIENT = {"name": "Kim Karlsson", "phone": "070-174 06 40", "areas": ["skultuna"]}
CSV = "name;phone;areas\nKim Karlsson;070-174 06 40;skultuna\n"


def _csv(_client: TestClient, _world: World) -> dict[str, Any]:
    return {"content": CSV.encode(), "headers": {"Content-Type": "text/csv"}}


def _get(path: str, needs: str, **kwargs: Any) -> Call:
    return Call("GET", lambda w, m: path, needs=needs, **kwargs)


CALLS: dict[str, Call] = {
    "GET,HEAD /openapi.json": Call("GET", lambda w, m: "/openapi.json", needs=OPEN),
    "GET /docs": Call("GET", lambda w, m: "/docs", needs=OPEN),
    "GET /docs/assets/{name}": Call("GET", lambda w, m: "/docs/assets/swagger-ui.css", needs=OPEN),
    "GET /healthz": Call("GET", lambda w, m: "/healthz", needs=OPEN),
    "GET /": Call("GET", lambda w, m: "/", needs=OPEN),
    "GET /n/{code}": Call("GET", lambda w, m: f"/n/{w.actual}", needs=OPEN),
    "POST /api/v1/callbacks/twilio/status": Call(
        "POST",
        lambda w, m: "/api/v1/callbacks/twilio/status",
        ok=204,
        prepare=_twilio_form,
        needs=OPEN,
    ),
    "GET /login": Call("GET", lambda w, m: "/login", needs=OPEN),
    "POST /login": Call("POST", lambda w, m: "/login", ok=303, prepare=_login_form, needs=OPEN),
    "GET /auth/oidc/start": Call("GET", lambda w, m: "/auth/oidc/start", ok=404, needs=OPEN),
    "GET /auth/oidc/callback": Call("GET", lambda w, m: "/auth/oidc/callback", ok=404, needs=OPEN),
    "GET /api/v1/scenarios": Call("GET", lambda w, m: "/api/v1/scenarios", needs="notices:read"),
    "GET /api/v1/scenarios/{scenario_id}": Call(
        "GET", lambda w, m: "/api/v1/scenarios/water_outage", needs="notices:read"
    ),
    "GET /api/v1/audiences": Call("GET", lambda w, m: "/api/v1/audiences", needs="notices:read"),
    "GET /api/v1/languages": Call("GET", lambda w, m: "/api/v1/languages", needs="notices:read"),
    "POST /api/v1/notices/preview": Call(
        "POST",
        lambda w, m: "/api/v1/notices/preview",
        touches=True,
        json=_preview,
        needs="notices:write",
    ),
    "GET /api/v1/notices/{code}/progress": _notice_route("progress"),
    "GET /api/v1/notices/{code}/progress/stream": _notice_route("progress/stream"),
    "GET /api/v1/notices/{code}/not-reached": _notice_route("not-reached"),
    "GET /api/v1/notices/{code}/report.csv": _notice_route("report.csv"),
    "GET /api/v1/notices/{code}/report.pdf": _notice_route("report.pdf"),
    "GET /api/v1/me": Call("GET", lambda w, m: "/api/v1/me", needs=ANYONE_KNOWN),
    # The REST API (issue 11): notices through the workflow, deliveries, recipients, content.
    "POST /api/v1/notices": Call(
        "POST",
        lambda w, m: "/api/v1/notices",
        ok=201,
        touches=True,
        json=lambda w, m: _light(m),
        needs="notices:write",
    ),
    "GET /api/v1/notices": _get("/api/v1/notices", "notices:read"),
    "GET /api/v1/notices/{code}": Call(
        "GET",
        lambda w, m: f"/api/v1/notices/{_code(w, m)}?checks=false",
        touches=True,
        needs="notices:read",
    ),
    "PUT /api/v1/notices/{code}": Call(
        "PUT",
        lambda w, m: f"/api/v1/notices/{_fresh(w, m)}",
        touches=True,
        json=lambda w, m: _light(m),
        needs="notices:write",
    ),
    "POST /api/v1/notices/{code}/submit": Call(
        "POST", _step("submit"), touches=True, needs="notices:write"
    ),
    "POST /api/v1/notices/{code}/approve": Call(
        "POST", _step("approve"), touches=True, needs="notices:approve"
    ),
    "POST /api/v1/notices/{code}/send": Call(
        "POST", _step("send", approved=True), touches=True, needs="notices:send"
    ),
    "POST /api/v1/notices/{code}/cancel": Call(
        "POST", _step("cancel"), touches=True, needs="notices:write"
    ),
    "POST /api/v1/notices/{code}/follow-ups": Call(
        "POST",
        lambda w, m: f"/api/v1/notices/{_code(w, m)}/follow-ups",
        ok=201,
        touches=True,
        json=lambda w, m: {"message_type": "update"},
        needs="notices:write",
    ),
    "GET /api/v1/notices/{code}/deliveries": _notice_route("deliveries"),
    "GET /api/v1/recipients": _get("/api/v1/recipients", "recipients:read"),
    "POST /api/v1/recipients": Call(
        "POST",
        lambda w, m: "/api/v1/recipients",
        ok=201,
        json=lambda w, m: RECIPIENT,
        needs="recipients:write",
    ),
    "GET /api/v1/recipients/{recipient_id}": Call(
        "GET", lambda w, m: f"/api/v1/recipients/{w.recipient}", needs="recipients:read"
    ),
    "PUT /api/v1/recipients/{recipient_id}": Call(
        "PUT", _new_recipient, json=lambda w, m: RECIPIENT, needs="recipients:write"
    ),
    "DELETE /api/v1/recipients/{recipient_id}": Call(
        "DELETE", _new_recipient, needs="recipients:write"
    ),
    "POST /api/v1/recipients/import": Call(
        "POST", lambda w, m: "/api/v1/recipients/import", prepare=_csv, needs="recipients:write"
    ),
    "GET /api/v1/recipients/{recipient_id}/deliveries": Call(
        "GET", lambda w, m: f"/api/v1/recipients/{w.recipient}/deliveries", needs="recipients:read"
    ),
    "GET /api/v1/areas": _get("/api/v1/areas", "notices:read"),
    "GET /api/v1/scenarios/{scenario_id}/schema": _get(
        "/api/v1/scenarios/water_outage/schema", "notices:read"
    ),
    "POST /api/v1/readability": Call(
        "POST",
        lambda w, m: "/api/v1/readability",
        json=lambda w, m: {"text": "Koka vattnet. Drick inte kranvatten.", "language": "sv"},
        needs="notices:read",
    ),
    "GET /account": Call("GET", lambda w, m: "/account", needs=PERSON),
    "POST /logout": Call("POST", lambda w, m: "/logout", ok=303, needs=PERSON),
}
ROUTES = {route_name(r): r for r in app_routes(app)}


def test_every_route_decides() -> None:
    assert undecided_routes(app) == []


def test_the_matrix_covers_every_route() -> None:
    assert sorted(ROUTES) == sorted(CALLS), "tell CALLS how to call the new route"


def test_a_route_added_without_a_decision_fails_the_check() -> None:
    probe = FastAPI(docs_url=None, redoc_url=None)  # as the app: its own /docs decides
    nested = APIRouter(prefix="/api/v1", dependencies=[Depends(open_route)])

    @nested.get("/open-by-router")
    def open_by_router() -> None:
        """Open through its router's dependencies."""

    inner = APIRouter()

    @inner.get("/forgotten")
    def forgotten() -> None:
        """Declares nothing."""

    outer = APIRouter(prefix="/deep")
    outer.include_router(inner)
    probe.include_router(nested)
    probe.include_router(outer)

    @probe.post("/also-forgotten")
    def also_forgotten() -> None:
        """Declares nothing."""

    probe.mount("/static", Mount("/static", routes=[]))
    assert sorted(undecided_routes(probe)) == [
        "* /static",
        "GET /deep/forgotten",
        "POST /also-forgotten",
    ]


def _session_headers(world: World, role: Role) -> tuple[dict[str, str], dict[str, str]]:
    """Cookies and CSRF header of a fresh session of the role's user."""
    with session_scope(world.engine) as session:
        user = session.scalars(sa.select(User).where(User.email == f"{role.value}@example.se"))
        row, token = start_session(
            session, user.one(), method="password", address="testclient", user_agent="matrix"
        )
        csrf = row.csrf_token
    return {SESSION_COOKIE: sign(token, "session")}, {"X-CSRF-Token": csrf}


def _call(
    world: World,
    call: Call,
    mode: str,
    headers: dict[str, str] | None = None,
    cookies: dict[str, str] | None = None,
) -> Any:
    client = TestClient(app, cookies=cookies)
    kwargs = call.prepare(client, world)
    kwargs["headers"] = {**kwargs.get("headers", {}), **(headers or {})}
    if call.json is not None:
        kwargs["json"] = call.json(world, mode)
    kwargs.setdefault("follow_redirects", False)
    return client.request(call.method, call.path(world, mode), **kwargs)


def _scopes(decision: Decision) -> set[str]:
    return set(decision.scopes)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_route_answers_each_caller_as_its_decision_says(world: World, name: str) -> None:
    call = CALLS[name]
    decision = access_decision(ROUTES[name])
    assert decision is not None
    declared = (
        OPEN
        if decision.open
        else PERSON
        if decision.person_only
        else ",".join(sorted(decision.scopes)) or ANYONE_KNOWN
    )
    assert declared == call.needs, f"{name} requires {declared}, the issue says {call.needs}"
    problems: list[str] = []

    def expect(label: str, response: Any, status: int, says: str = "") -> None:
        if response.status_code != status or says not in response.text:
            problems.append(
                f"{label}: {response.status_code} {response.text[:160]!r}, expected {status}"
                + (f" saying {says!r}" if says else "")
            )

    all_scopes = [s.value for s in Scope]
    right = api_key(world.engine, *(_scopes(decision) or ["notices:read"]), name="right")
    lacking_scopes = [s for s in all_scopes if s not in _scopes(decision)]
    test_key = api_key(world.engine, *all_scopes, test=True, name="test")
    garbage = "kv_live_ABCD2345_" + "x" * 43
    bad_keys = {"malformed key": "not-a-key", "unknown key": garbage}

    if decision.open:
        expect("no credentials", _call(world, call, "actual"), call.ok)
        for label, key in {**bad_keys, "test key": test_key}.items():
            got = _call(world, call, "actual", {"Authorization": f"Bearer {key}"})
            expect(f"{label} (open route ignores it)", got, call.ok)
        cookies, csrf = _session_headers(world, Role.viewer)
        expect("viewer session", _call(world, call, "actual", csrf, cookies), call.ok)
        assert problems == []
        return

    got = _call(world, call, "actual")
    expect("no credentials", got, 401, "authentication required")
    if not got.headers.get("www-authenticate", "").startswith('Bearer realm="Klarvarsel"'):
        problems.append("no credentials: the 401 has no WWW-Authenticate challenge")
    for label, key in bad_keys.items():
        got = _call(world, call, "actual", {"Authorization": f"Bearer {key}"})
        expect(label, got, 401, "not valid")
        if 'error="invalid_token"' not in got.headers.get("www-authenticate", ""):
            problems.append(f"{label}: WWW-Authenticate lacks error=invalid_token")
    if decision.scopes:
        lacking = api_key(world.engine, *lacking_scopes, name="lacking")
        got = _call(world, call, "actual", {"Authorization": f"Bearer {lacking}"})
        need = ", ".join(sorted(decision.scopes))
        expect("key lacking the scope", got, 403, f"missing permission {need}")
    for mode in ("actual", "exercise"):
        got = _call(world, call, mode, {"Authorization": f"Bearer {test_key}"})
        if decision.person_only:
            expect(f"test key, {mode}", got, 403, "not an API key")
        elif call.touches and mode == "actual":
            expect("test key, actual notice", got, 403, "test key may only use exercise")
        else:
            expect(f"test key, {mode} notice", got, call.ok)
    got = _call(world, call, "actual", {"Authorization": f"Bearer {right}"})
    if decision.person_only:
        expect("right key on a page for people", got, 403, "not an API key")
    else:
        expect("key with exactly the scope", got, call.ok)
    for role in Role:
        cookies, csrf = _session_headers(world, role)
        got = _call(world, call, "actual", csrf, cookies)
        if _scopes(decision) <= set(ROLE_SCOPES[role]):
            expect(f"{role.value} session", got, call.ok)
        else:
            expect(f"{role.value} session", got, 403, "missing permission")
    assert problems == [], "\n".join(problems)


def test_a_browser_without_a_session_is_sent_to_sign_in(world: World) -> None:
    page = TestClient(app).get(
        "/account?lang=en", headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Faccount%3Flang%3Den"
    api = TestClient(app).get("/api/v1/me", headers={"Accept": "text/html"})
    assert api.status_code == 401  # an API stays an API


def test_a_refusal_is_audited_with_who_and_what(world: World, tmp_path: Path) -> None:
    from service.audit.models import AuditEvent

    key = api_key(world.engine, "notices:read", name="audited")
    response = TestClient(app).get(
        f"/api/v1/notices/{world.actual}/not-reached", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status_code == 403
    with session_scope(world.engine) as session:
        event = session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.action == "access.denied")
            .order_by(AuditEvent.id.desc())
        ).first()
    assert event is not None
    assert event.actor == f"key:{key[:16]}"
    assert event.subject_id == f"GET /api/v1/notices/{world.actual}/not-reached"
    assert event.details == {"reason": "missing reports:read"}
    assert event.source == "api testclient"


def test_roles_grant_the_scopes_the_issue_lists() -> None:
    read, write = "notices:read", "notices:write"
    assert {
        role.value: sorted(s.value for s in scopes) for role, scopes in ROLE_SCOPES.items()
    } == {
        "author": [read, write],
        "approver": ["notices:approve", read, "notices:send", "reports:read"],
        "admin": sorted(s.value for s in Scope),
        "viewer": [read, "reports:read"],
    }
