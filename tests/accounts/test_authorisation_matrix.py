"""The authorisation matrix, built from the app's own route table.

Every route is called with no credentials, a malformed key, a well-formed unknown key, a key
lacking the route's scope, a test key, the right key, and a session of each role. A route that
makes no permission decision fails `test_every_route_decides`; a route the matrix does not know
how to call fails `test_the_matrix_covers_every_route`.
"""

from __future__ import annotations

import itertools
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
from service.exercises.calendar_link import calendar_token
from service.exercises.models import (
    CanaryRecord,
    ExerciseRunRecord,
    FiringRecord,
    ScheduleRecord,
)
from service.main import app
from service.recipients.areas import load_areas
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from service.webhooks.service import Owner, create_subscription
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
    # Request arguments that depend on the mode (a raw body and its headers, say).
    body: Callable[[World, str], dict[str, Any]] | None = None


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


_serial = itertools.count(1)
MISSING = "999999"  # an id nobody has: the route answers 404 once the caller may ask


def _cap_post(_world: World, mode: str) -> dict[str, Any]:
    xml = (ROOT / "tests" / "data" / "cap" / "smhi-wind-orange.xml").read_text("utf-8")
    status = "Actual" if mode == "actual" else "Exercise"
    xml = xml.replace("<status>Actual</status>", f"<status>{status}</status>")
    xml = xml.replace(".WIND.1980<", f".WIND.1980.{next(_serial)}<")  # a new message each time
    return {"content": xml.encode(), "headers": {"Content-Type": "application/cap+xml"}}


def _schedule(world: World, _mode: str) -> dict[str, Any]:
    notice = {**world.water, "mode": "exercise"}
    return {
        "name": f"matrix test {next(_serial)}",
        "rule": "vma-quarterly",
        "allow_failed_checks": True,
        "notice": notice,
    }


def _missing(method: str, path: str, needs: str, **options: Any) -> Call:
    return Call(method, lambda w, m: path.format(id=MISSING), needs=needs, ok=404, **options)


def _calendar_path(_world: World, _mode: str) -> str:
    from service.config import get_settings
    from service.exercises.views import calendar_token

    return f"/calendar/{calendar_token(get_settings())}.ics"


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
    "POST /api/v1/notices/{code}/retry": Call(
        "POST",
        lambda w, m: f"/api/v1/notices/{_code(w, m)}/retry",
        touches=True,
        needs="notices:send",
    ),
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
    "GET /api/v1/notices/{code:notice_code}": Call(
        "GET",
        lambda w, m: f"/api/v1/notices/{_code(w, m)}?checks=false",
        touches=True,
        needs="notices:read",
    ),
    "PUT /api/v1/notices/{code:notice_code}": Call(
        "PUT",
        lambda w, m: f"/api/v1/notices/{_fresh(w, m)}",
        touches=True,
        json=lambda w, m: _light(m),
        needs="notices:write",
    ),
    "POST /api/v1/notices/{code:notice_code}/submit": Call(
        "POST", _step("submit"), touches=True, needs="notices:write"
    ),
    "POST /api/v1/notices/{code:notice_code}/approve": Call(
        "POST", _step("approve"), touches=True, needs="notices:approve"
    ),
    "POST /api/v1/notices/{code:notice_code}/send": Call(
        "POST", _step("send", approved=True), touches=True, needs="notices:send"
    ),
    "POST /api/v1/notices/{code:notice_code}/cancel": Call(
        "POST", _step("cancel"), touches=True, needs="notices:write"
    ),
    "POST /api/v1/notices/{code:notice_code}/follow-ups": Call(
        "POST",
        lambda w, m: f"/api/v1/notices/{_code(w, m)}/follow-ups",
        ok=201,
        touches=True,
        json=lambda w, m: {"message_type": "update"},
        needs="notices:write",
    ),
    "GET /api/v1/notices/{code:notice_code}/deliveries": _notice_route("deliveries"),
    "GET /api/v1/recipients": _get("/api/v1/recipients", "recipients:read"),
    "POST /api/v1/recipients": Call(
        "POST",
        lambda w, m: "/api/v1/recipients",
        ok=201,
        json=lambda w, m: RECIPIENT,
        needs="recipients:write",
    ),
    "GET /api/v1/recipients/{recipient_id:int}": Call(
        "GET", lambda w, m: f"/api/v1/recipients/{w.recipient}", needs="recipients:read"
    ),
    "PUT /api/v1/recipients/{recipient_id:int}": Call(
        "PUT", _new_recipient, json=lambda w, m: RECIPIENT, needs="recipients:write"
    ),
    "DELETE /api/v1/recipients/{recipient_id:int}": Call(
        "DELETE", _new_recipient, needs="recipients:write"
    ),
    "POST /api/v1/recipients/import": Call(
        "POST", lambda w, m: "/api/v1/recipients/import", prepare=_csv, needs="recipients:write"
    ),
    "GET /api/v1/recipients/{recipient_id:int}/deliveries": Call(
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
    # CAP and feeds (service/interop/views.py)
    "GET /api/v1/notices/{code}/cap.xml": Call(
        "GET",
        lambda w, m: f"/api/v1/notices/{_code(w, m)}/cap.xml",
        needs="notices:read",
        touches=True,
    ),
    "GET /feeds/cap/{code}.xml": Call("GET", lambda w, m: f"/feeds/cap/{w.actual}.xml", needs=OPEN),
    "GET /feeds/{kind}.atom": Call("GET", lambda w, m: "/feeds/alerts.atom", needs=OPEN),
    "POST /api/v1/cap": Call(
        "POST",
        lambda w, m: "/api/v1/cap",
        needs="notices:write",
        ok=201,
        touches=True,
        body=_cap_post,
    ),
    # Webhooks (service/webhooks/views.py): each caller sees only its own subscriptions.
    "POST /api/v1/webhooks": Call(
        "POST",
        lambda w, m: "/api/v1/webhooks",
        needs="notices:read",
        ok=201,
        json=lambda w, m: {"url": "https://8.8.8.8/hook", "events": ["notice.*"]},
    ),
    "GET /api/v1/webhooks": Call("GET", lambda w, m: "/api/v1/webhooks", needs="notices:read"),
    "GET /api/v1/webhooks/{subscription_id}": _missing(
        "GET", "/api/v1/webhooks/{id}", "notices:read"
    ),
    "DELETE /api/v1/webhooks/{subscription_id}": _missing(
        "DELETE", "/api/v1/webhooks/{id}", "notices:read"
    ),
    "GET /api/v1/webhooks/{subscription_id}/deliveries": _missing(
        "GET", "/api/v1/webhooks/{id}/deliveries", "notices:read"
    ),
    "POST /api/v1/webhooks/{subscription_id}/deliveries/{delivery_id}/redeliver": _missing(
        "POST", "/api/v1/webhooks/{id}/deliveries/1/redeliver", "notices:read"
    ),
    # Exercises (service/exercises/views.py, run_views.py): changes as sending, reading reports.
    "GET /api/v1/schedules": Call("GET", lambda w, m: "/api/v1/schedules", needs="reports:read"),
    "POST /api/v1/schedules": Call(
        "POST", lambda w, m: "/api/v1/schedules", needs="notices:send", ok=201, json=_schedule
    ),
    "GET /api/v1/schedules/{ref}": _missing("GET", "/api/v1/schedules/{id}", "reports:read"),
    "POST /api/v1/schedules/{ref}/pause": _missing(
        "POST", "/api/v1/schedules/{id}/pause", "notices:send"
    ),
    "POST /api/v1/schedules/{ref}/resume": _missing(
        "POST", "/api/v1/schedules/{id}/resume", "notices:send"
    ),
    "DELETE /api/v1/schedules/{ref}": _missing("DELETE", "/api/v1/schedules/{id}", "notices:send"),
    "GET /api/v1/schedule-rules/next": Call(
        "GET",
        lambda w, m: "/api/v1/schedule-rules/next?rule=vma-quarterly&count=3",
        needs="reports:read",
    ),
    "GET /api/v1/schedules/{ref}/firings": _missing(
        "GET", "/api/v1/schedules/{id}/firings", "reports:read"
    ),
    # Canaries (service/exercises/canary_views.py): addresses are personal data, as sending.
    "GET /api/v1/canaries": Call("GET", lambda w, m: "/api/v1/canaries", needs="notices:send"),
    "POST /api/v1/canaries": Call(
        "POST",
        lambda w, m: "/api/v1/canaries",
        needs="notices:send",
        ok=201,
        json=lambda w, m: {
            "channel": "email",
            "address": f"jour{next(_serial)}@example.se",
            "label": "Jour",
        },
    ),
    "GET /api/v1/canaries/{canary_id}": _missing("GET", "/api/v1/canaries/{id}", "notices:send"),
    "PUT /api/v1/canaries/{canary_id}": _missing(
        "PUT",
        "/api/v1/canaries/{id}",
        "notices:send",
        json=lambda w, m: {"address": "jour@example.se", "label": "Jour"},
    ),
    "DELETE /api/v1/canaries/{canary_id}": _missing(
        "DELETE", "/api/v1/canaries/{id}", "notices:send"
    ),
    "GET /api/v1/calendar.ics": Call(
        "GET", lambda w, m: "/api/v1/calendar.ics", needs="reports:read"
    ),
    "GET /api/v1/calendar": Call("GET", lambda w, m: "/api/v1/calendar", needs="reports:read"),
    "GET /calendar/{token}.ics": Call("GET", _calendar_path, needs=OPEN),
    "GET /api/v1/exercises/scripts": Call(
        "GET", lambda w, m: "/api/v1/exercises/scripts", needs="reports:read"
    ),
    "GET /api/v1/exercises": Call("GET", lambda w, m: "/api/v1/exercises", needs="reports:read"),
    "POST /api/v1/exercises": Call(
        "POST",
        lambda w, m: "/api/v1/exercises",
        needs="notices:send",
        ok=201,
        json=lambda w, m: {"script": "county-exercise-day", "speed": 60},
    ),
    "GET /api/v1/exercises/{run_id}": _missing("GET", "/api/v1/exercises/{id}", "reports:read"),
    "POST /api/v1/exercises/{run_id}/pause": _missing(
        "POST", "/api/v1/exercises/{id}/pause", "notices:send"
    ),
    "POST /api/v1/exercises/{run_id}/resume": _missing(
        "POST", "/api/v1/exercises/{id}/resume", "notices:send"
    ),
    "POST /api/v1/exercises/{run_id}/move": _missing(
        "POST", "/api/v1/exercises/{id}/move", "notices:send", json=lambda w, m: {"by_seconds": 60}
    ),
    "POST /api/v1/exercises/{run_id}/cancel": _missing(
        "POST", "/api/v1/exercises/{id}/cancel", "notices:send"
    ),
    "GET /api/v1/exercises/{run_id}/report": _missing(
        "GET", "/api/v1/exercises/{id}/report", "reports:read"
    ),
    "GET /api/v1/reports/broadcasts/{target}": Call(
        "GET", lambda w, m: f"/api/v1/reports/broadcasts/{w.exercise}", needs="reports:read"
    ),
    "GET /account": Call("GET", lambda w, m: "/account", needs=PERSON),
    "POST /logout": Call("POST", lambda w, m: "/logout", ok=303, needs=PERSON),
    # The communicator web app (service/web/notices): people only, each with its step's scope.
    "GET /static/{name}": Call("GET", lambda w, m: "/static/webapp.css", needs=OPEN),
    **{
        f"{method} {path}": Call(
            method,
            lambda w, m, path=path: path.format(code=w.actual),
            ok=ok,
            needs=PERSON,
        )
        for method, path, ok in [
            ("GET", "/notices", 200),
            ("GET", "/notices/new", 200),
            ("POST", "/notices/new", 303),  # no scenario chosen: back to the chooser
            ("GET", "/notices/{code}", 200),
            ("GET", "/notices/{code}/edit", 303),  # a sent notice: to its page
            ("POST", "/notices/{code}/edit", 409),  # a sent notice cannot be edited
            ("GET", "/notices/{code}/preview", 200),
            ("GET", "/notices/{code}/preview/sv/nothing.html", 404),
            ("POST", "/notices/{code}/check", 200),
            ("POST", "/notices/{code}/submit", 303),
            ("GET", "/notices/{code}/approve", 303),
            ("POST", "/notices/{code}/approve", 303),
            ("GET", "/notices/{code}/send", 303),
            ("POST", "/notices/{code}/send", 303),  # already sent: says so, sends nothing
            ("POST", "/notices/{code}/discard", 303),
            ("POST", "/notices/{code}/call-off", 303),
            ("POST", "/notices/{code}/follow-up", 303),  # no kind: nothing started
            ("POST", "/notices/{code}/retry", 303),  # nothing failed: says so
            ("GET", "/notices/{code}/progress", 200),
            ("GET", "/notices/{code}/print-pack.pdf", 404),  # no audience asked for
        ]
    },
}


def _form(**fields: Any) -> Callable[[TestClient, World], dict[str, Any]]:
    """A page's form post (the CSRF token comes in the header the matrix sends)."""
    return lambda _client, _world: {"data": fields, "follow_redirects": False}


def _new_recipient(world: World) -> int:
    """A recipient of its own for a call that changes or deletes one."""
    return register(world.engine, person("Changed on the page", phone="+46701000009"))[
        "Changed on the page"
    ]


def _new_schedule(world: World) -> int:
    """A schedule of its own (stored as is) for a call that changes one."""
    with session_scope(world.engine) as session:
        row = ScheduleRecord(
            name=f"matrix {uuid.uuid4().hex}",
            kind="rule",
            rule="vma-quarterly",
            payload={},
            status="paused",
            grace_seconds=3600,
            created_by="test",
        )
        session.add(row)
        session.flush()
        return row.id


def _schedule_change(action: str) -> Call:
    path = "/exercises/schedules/{id}/" + action
    return Call("POST", lambda w, m: path.format(id=_new_schedule(w)), ok=303, needs=PERSON)


def _new_run(world: World) -> int:
    """An exercise run without injects, active."""
    with session_scope(world.engine) as session:
        run = ExerciseRunRecord(
            script="county-exercise-day",
            title="matrix",
            start_at=TEST_NOW,
            nominal_start=TEST_NOW,
            created_by="test",
        )
        session.add(run)
        session.flush()
        return run.id


def _new_canary(world: World) -> int:
    """A test recipient of its own for a call that changes or removes one."""
    with session_scope(world.engine) as session:
        canary = CanaryRecord(
            channel="email",
            address=f"matrix-{uuid.uuid4().hex}@example.se",
            label="Matrix",
            created_by="test",
        )
        session.add(canary)
        session.flush()
        return canary.id


def _new_webhook(world: World) -> int:
    """An active subscription of its own for a call that shows or stops one."""
    with session_scope(world.engine) as session:
        owner = Owner(f"matrix-{uuid.uuid4().hex}@example.se", None, False, True, "test")
        subscription, _secret = create_subscription(
            session, owner, get_settings(), url="https://8.8.8.8/hook", events=["notice.*"]
        )
        return subscription.id


def _report_path(suffix: str) -> Callable[[World], str]:
    """The report of a missed firing of a schedule of its own."""

    def path(world: World) -> str:
        schedule_id = _new_schedule(world)
        with session_scope(world.engine) as session:
            firing = FiringRecord(
                schedule_id=schedule_id,
                fire_time=TEST_NOW,
                status="missed",
                reason="the service was down",
                scheduler_id="matrix",
            )
            session.add(firing)
            session.flush()
            return f"/exercises/reports/firings/{firing.id}{suffix}"

    return path


def _page_of(path: Callable[[World], str]) -> Call:
    return Call("GET", lambda w, m: path(w), needs=PERSON)


def _page(path: str) -> Call:
    return Call("GET", lambda w, m: path, needs=PERSON)


# The administration and exercise pages (people only; the scope is checked per role).
CALLS.update(
    {
        "GET /admin/users": _page("/admin/users"),
        "POST /admin/users": Call(
            "POST",
            lambda w, m: "/admin/users",
            ok=303,
            needs=PERSON,
            prepare=_form(email="added@example.se", roles="viewer"),
        ),
        "GET /admin/users/{user_id}": _page("/admin/users/1"),
        "POST /admin/users/{user_id}/roles": Call(
            "POST",
            lambda w, m: "/admin/users/5/roles",
            ok=303,
            needs=PERSON,
            prepare=_form(roles="viewer"),
        ),
        "POST /admin/users/{user_id}/disabled": Call(
            "POST",
            lambda w, m: "/admin/users/5/disabled",
            ok=303,
            needs=PERSON,
            prepare=_form(disabled="0"),
        ),
        "GET /admin/keys": _page("/admin/keys"),
        "POST /admin/keys": Call(
            "POST",
            lambda w, m: "/admin/keys",
            needs=PERSON,
            prepare=_form(name="made on the page", scopes="notices:read"),
        ),
        "POST /admin/keys/{key_id}/revoke": Call(
            "POST", lambda w, m: "/admin/keys/1/revoke", ok=303, needs=PERSON
        ),
        "GET /admin/webhooks": _page("/admin/webhooks"),
        "GET /admin/webhooks/{subscription_id}": _page_of(
            lambda w: f"/admin/webhooks/{_new_webhook(w)}"
        ),
        "POST /admin/webhooks/{subscription_id}/remove": Call(
            "POST",
            lambda w, m: f"/admin/webhooks/{_new_webhook(w)}/remove",
            ok=303,
            needs=PERSON,
        ),
        "GET /admin/audit": _page("/admin/audit?action=user&since=7d"),
        "GET /admin/content": _page("/admin/content"),
        "GET /admin/outbox": _page("/admin/outbox"),
        "GET /exercises/schedules": _page("/exercises/schedules"),
        "GET /exercises/schedules/new": _page("/exercises/schedules/new"),
        "POST /exercises/schedules": Call(
            "POST", lambda w, m: "/exercises/schedules", ok=400, needs=PERSON
        ),
        "POST /exercises/schedules/{schedule_id}/pause": _schedule_change("pause"),
        "POST /exercises/schedules/{schedule_id}/resume": _schedule_change("resume"),
        "POST /exercises/schedules/{schedule_id}/remove": _schedule_change("remove"),
        "POST /exercises/runs": Call("POST", lambda w, m: "/exercises/runs", ok=400, needs=PERSON),
        "POST /exercises/runs/{run_id}/{action}": Call(
            "POST", lambda w, m: f"/exercises/runs/{_new_run(w)}/pause", ok=303, needs=PERSON
        ),
        "GET /exercises/canaries/new": _page("/exercises/canaries/new"),
        "POST /exercises/canaries": Call(
            "POST", lambda w, m: "/exercises/canaries", ok=400, needs=PERSON
        ),
        "GET /exercises/canaries/{canary_id}/edit": _page_of(
            lambda w: f"/exercises/canaries/{_new_canary(w)}/edit"
        ),
        "POST /exercises/canaries/{canary_id}": Call(
            "POST",
            lambda w, m: f"/exercises/canaries/{_new_canary(w)}",
            ok=303,
            needs=PERSON,
            prepare=lambda _c, _w: {
                "data": {"address": f"moved-{uuid.uuid4().hex}@example.se", "label": "Jour"},
                "follow_redirects": False,
            },
        ),
        "POST /exercises/canaries/{canary_id}/remove": Call(
            "POST",
            lambda w, m: f"/exercises/canaries/{_new_canary(w)}/remove",
            ok=303,
            needs=PERSON,
        ),
        "GET /exercises/reports/{kind}/{report_id}": _page_of(_report_path("")),
        "GET /exercises/reports/{kind}/{report_id}/report.csv": _page_of(
            _report_path("/report.csv")
        ),
        "GET /exercises/reports/{kind}/{report_id}/report.pdf": _page_of(
            _report_path("/report.pdf")
        ),
        "GET /exercises/calendar.ics": _page("/exercises/calendar.ics"),
        "GET /exercises/calendar/{token}.ics": Call(
            "GET", lambda w, m: f"/exercises/calendar/{calendar_token(4)}.ics", needs=OPEN
        ),
        "GET /admin/recipients": _page("/admin/recipients?q=Ali"),
        "GET /admin/recipients/export.csv": _page("/admin/recipients/export.csv"),
        "GET /admin/recipients/import": _page("/admin/recipients/import"),
        "POST /admin/recipients/import": Call(
            "POST",
            lambda w, m: "/admin/recipients/import",
            needs=PERSON,
            prepare=lambda _c, _w: {
                "data": {"mode": "check"},
                "files": {"file": ("r.csv", b"name;phone\nEva;070-174 06 07\n", "text/csv")},
            },
        ),
        "GET /admin/recipients/{recipient_id}": _page("/admin/recipients/1"),
        "POST /admin/recipients/{recipient_id}": Call(
            "POST",
            lambda w, m: f"/admin/recipients/{_new_recipient(w)}",
            ok=303,
            needs=PERSON,
            prepare=_form(name="Edited", email="edited@example.se", active="yes"),
        ),
        "GET /admin/recipients/{recipient_id}/export.json": _page(
            "/admin/recipients/1/export.json"
        ),
        "GET /admin/recipients/{recipient_id}/forget": _page("/admin/recipients/1/forget"),
        "POST /admin/recipients/{recipient_id}/forget": Call(
            "POST",
            lambda w, m: f"/admin/recipients/{_new_recipient(w)}/forget",
            ok=303,
            needs=PERSON,
        ),
    }
)
CALLS["GET /notices/{code}/preview/{language}/{name}"] = CALLS.pop(
    "GET /notices/{code}/preview/sv/nothing.html"
)
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
    if call.body is not None:
        extra = call.body(world, mode)
        kwargs["headers"] = {**kwargs["headers"], **extra.pop("headers", {})}
        kwargs.update(extra)
    kwargs.setdefault("follow_redirects", False)
    return client.request(call.method, call.path(world, mode), **kwargs)


def _scopes(decision: Decision) -> set[str]:
    return set(decision.scopes)


@pytest.mark.parametrize("name", sorted(CALLS))
def test_the_route_answers_each_caller_as_its_decision_says(
    world: World, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The live stream of a notice with no deliveries ends after its grace period: each allowed
    # caller would otherwise hold the test for the whole production grace (10 s).
    monkeypatch.setattr("service.delivery.views.EMPTY_GRACE_SECONDS", 0.5)
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
