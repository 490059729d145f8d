"""axe-core (WCAG 2.2 AA) on every administration and exercise page, in headless Chromium.

One server and one browser for the module. Each page is checked as it first shows, with its
form's errors shown (the forms are filled in and sent by the browser, so CSP and CSRF are
real), and at 320 CSS pixels wide. The pages must pass with no violation at all.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page
from sqlalchemy import Engine

from service.accounts.models import ApiKey
from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE
from service.channels.base import OutgoingMessage
from service.channels.sms.outbox_transport import SmsOutboxTransport
from service.clock import FrozenClock, set_clock
from service.config import get_settings
from service.content import get_library
from service.exercises.firing import fire_due
from service.exercises.runs import start_run
from service.exercises.scripts import load_script
from service.main import app
from service.store.database import session_scope
from service.webhooks.events import emit
from service.webhooks.sender import Result, claim, record
from service.webhooks.service import Owner, create_subscription
from tests.accessibility import WCAG_TAGS, chromium, describe
from tests.accounts.support import api_key
from tests.conftest import TEST_NOW
from tests.exercises.conftest import canaries, person, register, schedule
from tests.fakes import ServerThread
from tests.web.staff_site import StaffSite, staff_site

DECEMBER = datetime(2026, 12, 7, 15, 1, tzinfo=ZoneInfo("Europe/Stockholm"))
BAD_CSV = b"name;phone;languages\nBo;123;xx\n;;\nCe;;sv\n"


@dataclass(frozen=True)
class Site:
    """The served app, its deployment, and ids of things to show."""

    url: str
    staff: StaffSite
    recipient: int
    run: int
    webhook: int


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    library = get_library()
    with staff_site(tmp_path_factory.mktemp("a11y")) as staff:
        clock = FrozenClock(TEST_NOW)
        set_clock(clock)
        settings = get_settings()
        ids = register(
            staff.engine,
            person("Anna Andersson", exercise=True, phone="+46701740601"),
            person("Ahmed Ali", exercise=False, email="ahmed.ali@example.se", languages=["ar"]),
        )
        canaries(staff.engine, library)
        key = api_key(staff.engine, "notices:read", name="Larmcentralen")
        webhook = subscription_with_a_failure(staff.engine, key)
        schedule(
            staff.engine, library, settings, "kvartalsprov", now=clock.now(), rule="vma-quarterly"
        )
        clock.set(DECEMBER)
        fire_due(staff.engine, settings, library, scheduler_id="a11y")
        with session_scope(staff.engine) as session:
            script = load_script("county-exercise-day", library)
            run = start_run(session, script, settings, speed=60, actor="test").id
        sms = OutgoingMessage(
            channel="sms", to="+46701740601", text="ÖVNING: Vi provar.", reference="a11y"
        )
        asyncio.run(SmsOutboxTransport(settings.outbox_dir).send(sms))
        set_clock(None)
        with ServerThread(app) as server:
            yield Site(server.url, staff, ids["Anna Andersson"], run, webhook)


def subscription_with_a_failure(engine: Engine, key: str) -> int:
    """The key's webhook subscription (a query token in its URL), one event refused by it."""
    settings = get_settings()
    with session_scope(engine) as session:
        found = next(k for k in session.scalars(sa.select(ApiKey)) if key.startswith(k.prefix))
        owner = Owner(f"key:{found.prefix}", found.id, False, True, "api 127.0.0.1")
        subscription, _secret = create_subscription(
            session, owner, settings, url="https://8.8.8.8/hook?token=t0k", events=["notice.*"]
        )
        emit(session, "notice.sent", {"code": "VMA-1"}, mode="exercise")
        made = subscription.id
    with session_scope(engine) as session:
        for job in claim(session, "a11y", settings):
            failure = Result(500, "HTTP 500: Internal Server Error", 9)
            record(session, "a11y", job, failure, settings)
    return made


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def signed_in_page(browser: Browser, site: Site, role: Role, width: int = 1024) -> Page:
    cookie, _csrf = site.staff.session_cookie(role)
    context = browser.new_context(viewport={"width": width, "height": 800})
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": site.url}])
    return context.new_page()


def violations(page: Page) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = (
        Axe()
        .run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        .response["violations"]
    )
    return found


def pages(site: Site) -> list[str]:
    return [
        "/admin/users",
        "/admin/users/1",
        "/admin/keys",
        "/admin/webhooks",
        f"/admin/webhooks/{site.webhook}",
        "/admin/recipients",
        "/admin/recipients?q=Anna",
        f"/admin/recipients/{site.recipient}",
        f"/admin/recipients/{site.recipient}/forget",
        "/admin/recipients/import",
        "/admin/audit",
        "/admin/content",
        "/admin/outbox",
        "/exercises/schedules",
        "/exercises/schedules/new",
        "/exercises/reports/firings/1",
        f"/exercises/reports/runs/{site.run}",
        "/admin/users?lang=en",
        "/exercises/schedules?lang=en",
        "/admin/webhooks?lang=en",
        f"/admin/webhooks/{site.webhook}?lang=en",
    ]


def submit_with_errors(page: Page, site: Site) -> list[tuple[str, Page]]:
    """Send each form with mistakes from the browser; (name, page showing the errors)."""
    shown = []

    def errors_of(name: str) -> None:
        assert page.locator(".error-summary").count() == 1, f"{name}: no error summary"
        shown.append((name, page))
        violations_now = violations(page)
        assert violations_now == [], f"{name}: {describe(violations_now)}"

    page.goto(site.url + "/admin/users?lang=sv")  # the English pages before set the cookie
    page.fill("#email", "nej")
    page.fill("#password", "kort")
    page.click("form[action='/admin/users'] button[type=submit]")
    errors_of("users")
    page.goto(site.url + "/admin/keys")
    page.fill("#days", "0")
    page.click("form[action='/admin/keys'] button[type=submit]")
    errors_of("keys")
    page.goto(site.url + "/admin/recipients/import")
    page.set_input_files("#file", {"name": "r.csv", "mimeType": "text/csv", "buffer": BAD_CSV})
    page.click("main button[type=submit]")
    errors_of("import")
    page.goto(site.url + f"/admin/recipients/{site.recipient}")
    page.fill("#name", "")
    page.fill("#phone", "12")
    page.click("text=Spara ändringar")
    errors_of("recipient")
    page.goto(site.url + "/admin/audit?since=i+går")
    errors_of("audit")
    page.goto(site.url + "/exercises/schedules/new")
    page.check("#kind-once")
    page.fill("#notice", "{")
    page.click("text=Lägg till schema")
    errors_of("schedule")
    page.goto(site.url + "/exercises/schedules")
    page.fill(f"#move-by-{site.run}", "snart")
    page.click(f"form[action='/exercises/runs/{site.run}/move'] button[type=submit]")
    errors_of("move")
    return shown


def test_every_page_passes_axe_at_320_px_and_with_its_errors_shown(
    site: Site, browser: Browser
) -> None:
    problems = []
    page = signed_in_page(browser, site, Role.admin, width=320)
    for path in pages(site):
        response = page.goto(site.url + path)
        assert response is not None and response.status == 200, path
        found = violations(page)
        if found:
            problems.append(f"{path}: {describe(found)}")
        # Nothing is wider than a phone but the tables, which scroll in their own region.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if overflow > 0:
            problems.append(f"{path}: the page scrolls sideways by {overflow} px at 320 px")
    assert problems == []
    submit_with_errors(page, site)


def test_pages_pass_axe_on_a_desktop_screen_and_a_new_key_is_shown_once(
    site: Site, browser: Browser
) -> None:
    page = signed_in_page(browser, site, Role.admin)
    for path in [
        "/admin/recipients?q=Anna",
        "/exercises/schedules",
        "/exercises/reports/firings/1",
    ]:
        page.goto(site.url + path)
        found = violations(page)
        assert found == [], f"{path}: {describe(found)}"
    page.goto(site.url + "/admin/keys")
    page.fill("#name", "Webbformulär")
    page.check("#scopes")
    page.click("form[action='/admin/keys'] button[type=submit]")
    key = page.locator("#new-key").inner_text()
    assert key.startswith("kv_live_")
    assert violations(page) == []
    page.goto(site.url + "/admin/keys")
    assert key not in page.content() and key[:16] in page.content()
