"""Refusals on page routes are pages (Swedish or English, staff layout); the API keeps JSON.

The real app: over HTTP (TestClient) for every status, and served on 127.0.0.1 to headless
Chromium for axe-core (WCAG 2.2 AA) on the error pages, as shown and at 320 px.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from httpx import Response
from playwright.sync_api import Browser

from service.accounts.permissions import Public, ReportsRead, SignedInPerson
from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE
from service.config import get_settings
from service.content import get_library
from service.main import app
from service.store.database import session_scope
from service.web.error_pages import PAGE_PREFIXES, page_prefixes
from service.web.notices import list_views
from service.workflow.drafts import create_draft
from service.workflow.schemas import Actor
from tests.accessibility import chromium
from tests.accounts.support import api_key
from tests.conftest import ROOT
from tests.fakes import ServerThread
from tests.web.notices.support import audit
from tests.web.staff_site import StaffSite, email_of, staff_site

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@dataclass(frozen=True)
class Site:
    """The deployment, the served app and a draft with problems (no files to show: 409)."""

    staff: StaffSite
    url: str
    unfinished: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    folder: Path = tmp_path_factory.mktemp("errors")
    raw = json.loads((ROOT / "demo" / "notices" / "water_outage_skultuna.json").read_text())
    with staff_site(folder) as staff:
        author = Actor(email_of(Role.author), "web")
        with session_scope(staff.engine) as session:
            unfinished = {**raw, "areas": []}  # saved as a draft; its files cannot be made
            code = create_draft(session, unfinished, get_library(), author, complete=False).code
        with ServerThread(app) as server:
            yield Site(staff, server.url, code)


def page(response: Response, status: int) -> str:
    """The error page's HTML, checked to be a whole page in the staff layout."""
    assert response.status_code == status, response.text[:300]
    assert response.headers["content-type"].startswith("text/html"), response.headers
    text = response.text
    assert 'class="skip-link"' in text and "<main" in text and "staff-header" in text
    assert "Traceback" not in text
    return text


def title(text: str) -> str:
    found = re.search(r"<title>(.*?)</title>", text, re.DOTALL)
    assert found
    return found.group(1)


def test_every_refusal_on_a_page_route_is_a_swedish_page_saying_what_to_do(site: Site) -> None:
    author, _csrf = site.staff.client(Role.author, app)
    admin, _csrf = site.staff.client(Role.admin, app)
    anonymous = TestClient(app)
    limit = get_settings().max_body_bytes
    cases: list[tuple[Response, int, str, str]] = [
        (anonymous.post("/notices/new", data={}), 401, "Du är inte inloggad", "/login?next="),
        (author.get("/admin/users"), 403, "Du har inte behörighet till det här", 'href="/notices"'),
        (author.get("/notices/NOSUCH"), 404, "Sidan finns inte", 'href="/notices"'),
        (admin.get("/admin/no-such-page"), 404, "Sidan finns inte", "/notices"),
        (admin.put("/admin/users"), 405, "Sidan kan inte användas på det sättet", "/notices"),
        (
            author.get(f"/notices/{site.unfinished}/preview/sv/sms.html"),
            409,
            "Det går inte just nu",
            'href="/notices"',
        ),
        (
            admin.post("/admin/users", content=b"x" * (limit + 1), headers=FORM),
            413,
            "Det du skickade är för stort",
            "/login?next=",  # refused before the app runs: no session is read
        ),
        (admin.get("/admin/users/not-a-number"), 422, "Formuläret gick inte att läsa", "/notices"),
    ]
    for response, status, heading, link in cases:
        text = page(response, status)
        assert '<html lang="sv">' in text, status
        assert title(text) == f"{heading} – Klarvarsel", status
        assert f"<h1>{heading}</h1>" in text, status
        assert f"Felkod: {status}" in text and link in text, status
    assert "Allow" in admin.put("/admin/users").headers  # the refusal's headers are kept
    refused = anonymous.post("/notices/new", data={})
    assert refused.headers["www-authenticate"].startswith('Bearer realm="Klarvarsel"')
    # A browser asking for a page without a session is still sent to sign in.
    sent = anonymous.get("/notices", headers={"Accept": "text/html"}, follow_redirects=False)
    assert sent.status_code == 303 and sent.headers["location"] == "/login?next=%2Fnotices"


def test_the_language_choice_holds_and_the_menu_is_the_persons(site: Site) -> None:
    author, _csrf = site.staff.client(Role.author, app)
    text = page(author.get("/admin/users?lang=en"), 403)
    assert '<html lang="en">' in text
    assert title(text) == "You do not have permission for this – Klarvarsel"
    assert 'aria-label="Main menu"' in text and 'href="/notices/new"' in text  # the author's
    assert 'href="/admin/users"' not in text.split("<main")[0]  # not an admin's menu
    assert "Go to Notices" in text
    assert "Error code: 403" in text and '<span lang="en">missing permission admin' in text
    # The choice is kept (cookie) for the next error page.
    again = page(author.get("/notices/NOSUCH"), 404)
    assert '<html lang="en">' in again and "<h1>Page not found</h1>" in again
    came = author.get(
        "/notices/NOSUCH",
        headers={"Referer": "http://testserver/notices?state=draft"},
    )
    assert 'href="/notices?state=draft"' in page(came, 404)


def test_too_many_requests_on_a_page_is_a_page_with_retry_after(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KLARVARSEL_API_RATE_LIMIT_BURST", "1")
    monkeypatch.setenv("KLARVARSEL_API_RATE_LIMIT_PER_MINUTE", "1")
    get_settings.cache_clear()
    try:
        key = api_key(site.staff.engine, "notices:read", name="hurry")
        client = TestClient(app, headers={"Authorization": f"Bearer {key}"})
        for _ in range(3):
            limited = client.get("/notices")
    finally:
        monkeypatch.undo()
        get_settings.cache_clear()
    text = page(limited, 429)
    assert "<h1>För många försök</h1>" in text and "Vänta " in text
    assert int(limited.headers["retry-after"]) > 0


def test_a_failure_names_an_incident_never_the_trace(
    site: Site, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(_request: Any) -> str:
        raise RuntimeError("secret-connection-string-in-the-trace")

    monkeypatch.setattr(list_views, "staff_language", broken)
    cookie, _csrf = site.staff.session_cookie(Role.author)
    client = TestClient(app, raise_server_exceptions=False, cookies={SESSION_COOKIE: cookie})
    text = page(client.get("/notices?lang=en"), 500)
    assert "secret-connection-string" not in text and "RuntimeError" not in text
    assert "<h1>Something went wrong on our side</h1>" in text
    incident = re.search(r"incident number ([0-9a-f]{12})", text)
    assert incident and incident.group(1) in caplog.text  # the log has the id and the trace
    assert "secret-connection-string" in caplog.text


def test_the_api_keeps_its_problem_documents(site: Site) -> None:
    reader, _csrf = site.staff.client(Role.viewer, app)
    for response, status in [
        (TestClient(app).get("/api/v1/notices/NOSUCH"), 401),
        (reader.get("/api/v1/notices/NOSUCH"), 404),
        (reader.put("/api/v1/notices"), 405),
        (reader.get("/api/v1/nothing-here", headers={"Accept": "text/html"}), 404),
    ]:
        assert response.status_code == status
        assert response.headers["content-type"] == "application/problem+json"


def test_error_pages_pass_axe_in_both_languages_and_at_320_px(site: Site) -> None:
    cookie, _csrf = site.staff.session_cookie(Role.author)
    with chromium() as browser:
        context = browser.new_context(viewport={"width": 1024, "height": 800})
        context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": site.url}])
        tab = context.new_page()
        for path, status in [
            ("/admin/users", 403),
            ("/notices/NOSUCH", 404),
            (f"/notices/{site.unfinished}/preview/sv/sms.html", 409),
            ("/admin/users?lang=en", 403),
            ("/notices/NOSUCH", 404),  # English now: the choice is kept
        ]:
            shown = tab.goto(site.url + path)
            assert shown is not None and shown.status == status, (path, shown and shown.status)
            audit(tab, f"{status} page {path}")
        admin, _csrf = site.staff.session_cookie(Role.admin)
        context = browser.new_context(viewport={"width": 1024, "height": 800})
        context.add_cookies([{"name": SESSION_COOKIE, "value": admin, "url": site.url}])
        tab = context.new_page()
        shown = tab.goto(site.url + "/admin/users/not-a-number")
        assert shown is not None and shown.status == 422
        audit(tab, "422 page")
        _signed_out_and_broken(browser, site)


def _signed_out_and_broken(browser: Browser, site: Site) -> None:
    tab = browser.new_context().new_page()
    answer = tab.request.post(site.url + "/notices/new", form={"x": "y"})
    assert answer.status == 401
    tab.goto(site.url + "/login")  # the page's origin, so its stylesheets load
    tab.set_content(answer.text())  # the 401 page's markup, audited as it is
    audit(tab, "401 page", narrow=False)
    answer = tab.request.put(site.url + "/admin/users")
    assert answer.status == 405
    tab.goto(site.url + "/login")
    tab.set_content(answer.text())
    audit(tab, "405 page", narrow=False)


def test_page_routes_are_read_from_the_app_not_from_a_list() -> None:
    """A new section of pages gets error pages by declaring its routes for signed-in people."""
    # (The route annotations are strings, under `from __future__ import annotations`: what they
    # name is imported at the top of this file, where FastAPI looks them up.)
    router = APIRouter()

    @router.get("/drills/{ref}/log")
    def drill_log(ref: str, reader: ReportsRead, person: SignedInPerson) -> str:
        return ref

    @router.get("/feeds/mine")
    def my_feed(reader: ReportsRead, person: SignedInPerson) -> str:
        return "mine"

    @router.get("/feeds/{token}.xml")  # public beside the page: the section is not whole
    def public_feed(token: str, _open: Public) -> str:
        return token

    @router.get("/api/v1/drills")
    def drills(_open: Public) -> list[str]:
        return []

    other = FastAPI()
    other.include_router(router)
    assert page_prefixes(other) == ["/drills", "/feeds/mine"]
    # The service's own: whole sections, except where a public calendar shares /exercises.
    assert {"/notices", "/admin", "/account", "/exercises/schedules"} <= set(PAGE_PREFIXES)
    assert "/exercises" not in PAGE_PREFIXES and not any(
        p.startswith("/api") for p in PAGE_PREFIXES
    )
