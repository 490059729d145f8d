"""Test recipients on the Schedules page, in headless Chromium without JavaScript, with axe.

The real app on 127.0.0.1; an approver adds, changes and removes a canary through the forms
(POST, redirect, GET), sees every problem at once in Swedish and English, and each page passes
axe-core (WCAG 2.2 AA). A test notice's report is a page too, reached from the API's report_url.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page, expect

from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE
from service.audit.models import AuditEvent
from service.content import ContentLibrary
from service.exercises.models import CanaryRecord
from service.main import app
from service.notices.publish import publish_notice
from service.notices.service import validate_notice
from service.store.database import session_scope
from tests.accessibility import WCAG_TAGS, chromium, describe
from tests.accounts.support import api_key, bearer
from tests.exercises.conftest import quarterly_notice
from tests.fakes import ServerThread
from tests.web.staff_site import StaffSite, email_of, staff_site


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, StaffSite]]:
    with staff_site(tmp_path_factory.mktemp("canary-pages")) as site, ServerThread(app) as server:
        yield server.url, site


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _page(browser: Browser, served: tuple[str, StaffSite], role: Role) -> Page:
    url, site = served
    cookie, _csrf = site.session_cookie(role)
    context = browser.new_context(java_script_enabled=False)  # the forms work without it
    context.set_default_timeout(90_000)  # a machine shared with other test runs can be slow
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": url}])
    return context.new_page()


def _clean(page: Page, where: str) -> None:
    """axe on what the JavaScript-free page shows (axe itself needs a page that runs scripts)."""
    context = page.context.browser.new_context()  # type: ignore[union-attr]
    checker = context.new_page()
    try:
        # A blank page has no CSP of its own; the base makes the stylesheet links load.
        origin = page.url.split("/exercises", 1)[0]
        checker.set_content(page.content().replace("<head>", f'<head><base href="{origin}/">', 1))
        found: list[dict[str, Any]] = (
            Axe()
            .run(checker, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
            .response["violations"]
        )
    finally:
        context.close()
    assert found == [], f"{where}: {describe(found)}"


def _summary(page: Page) -> list[str]:
    return [t.strip() for t in page.locator(".error-summary li").all_inner_texts()]


def test_an_approver_adds_changes_and_removes_a_canary_without_javascript(
    served: tuple[str, StaffSite], browser: Browser
) -> None:
    url, site = served
    page = _page(browser, served, Role.approver)
    page.goto(url + "/exercises/schedules")
    assert "Det finns inga testmottagare" in page.content()
    page.click("text=Lägg till en testmottagare")
    assert page.url.endswith("/exercises/canaries/new")
    _clean(page, "new canary")
    page.check("#channel-email")
    page.fill("#address", "inte en adress")
    page.click("text=Lägg till testmottagaren")
    assert _summary(page) == [
        "Skriv en e-postadress som jour@kommun.se",
        "Skriv vems telefon eller brevlåda det är, till exempel Jourtelefon",
    ]
    assert page.title().startswith("Fel:")
    assert page.get_attribute("#address", "aria-invalid") == "true"
    assert page.input_value("#address") == "inte en adress"  # what was typed stays
    _clean(page, "new canary with errors")
    page.check("#channel")  # SMS
    page.fill("#address", "070-174 06 98")
    page.fill("#label", "Jourtelefon")
    page.click("text=Lägg till testmottagaren")
    assert "/exercises/schedules?done=canary-added" in page.url  # POST, redirect, GET
    # The redirect has committed; wait for its page to load before reading it.
    expect(page.locator("main")).to_contain_text("Testmottagaren lades till.")
    row = page.locator("tr", has_text="Jourtelefon")
    assert "+46701740698" in row.inner_text()
    _clean(page, "schedules with a canary")

    row.locator("a", has_text="Ändra").click()
    assert page.input_value("#address") == "+46701740698"
    page.fill("#label", "")
    page.fill("#address", "12")
    page.click("text=Spara testmottagaren")
    summary = _summary(page)
    assert len(summary) == 2 and summary[1].startswith("Skriv vems telefon")
    assert summary[0] == "Skriv ett telefonnummer som 070-123 45 67 eller +46 70 123 45 67"
    _clean(page, "change canary with errors")
    page.fill("#address", "070-174 06 99")
    page.fill("#label", "Jourtelefon 2")
    page.select_option("#language", "en")
    page.click("text=Spara testmottagaren")
    expect(page.locator("main")).to_contain_text("Testmottagaren ändrades.")
    with session_scope(site.engine) as session:
        canary = session.scalars(sa.select(CanaryRecord)).one()
        assert (canary.address, canary.label, canary.language) == (
            "+46701740699",
            "Jourtelefon 2",
            "en",
        )
        canary_id = canary.id

    page.goto(url + "/exercises/canaries/new?lang=en")
    page.click("text=Add the test recipient")
    assert _summary(page) == [
        "Enter a phone number or an e-mail address",
        "Enter whose phone or mailbox it is, for example Jourtelefon",
    ]
    _clean(page, "new canary in English")

    # The English page above kept English as the choice (the language cookie): back to Swedish.
    page.goto(url + "/exercises/schedules?lang=sv")
    page.locator(f"#canary-{canary_id} button", has_text="Ta bort").click()
    expect(page.locator("main")).to_contain_text("Testmottagaren togs bort.")
    assert "Det finns inga testmottagare" in page.content()

    with session_scope(site.engine) as session:
        events = session.execute(
            sa.select(AuditEvent.action, AuditEvent.actor, AuditEvent.source).where(
                AuditEvent.subject_type == "canary"
            )
        ).all()
    assert [e.action for e in events] == ["canary.added", "canary.changed", "canary.removed"]
    assert {e.actor for e in events} == {email_of(Role.approver)}
    assert all(e.source.startswith("web") for e in events), events


def test_a_viewer_sees_the_labels_but_no_address_and_no_forms(
    served: tuple[str, StaffSite], browser: Browser, library: ContentLibrary
) -> None:
    url, site = served
    sender = httpx.Client(
        base_url=url, headers=bearer(api_key(site.engine, "notices:send")), timeout=60
    )
    made = sender.post(
        "/api/v1/canaries",
        json={"channel": "email", "address": "krisledning@example.se", "label": "Brevlåda"},
    )
    assert made.status_code == 201, made.text
    page = _page(browser, served, Role.viewer)
    page.goto(url + "/exercises/schedules")
    assert "Brevlåda" in page.content() and "krisledning@example.se" not in page.content()
    assert page.locator("text=Lägg till en testmottagare").count() == 0
    _clean(page, "schedules as a viewer")
    assert page.goto(url + "/exercises/canaries/new").status == 403  # type: ignore[union-attr]


def test_a_test_notice_s_report_is_a_page_with_charts_linked_from_the_api(
    served: tuple[str, StaffSite], browser: Browser, library: ContentLibrary
) -> None:
    url, site = served
    raw = quarterly_notice()
    with session_scope(site.engine) as session:
        code = publish_notice(
            session, validate_notice(raw, library), raw, actor="test", source="test"
        ).code
    reader = httpx.Client(
        base_url=url, headers=bearer(api_key(site.engine, "reports:read")), timeout=120
    )
    report = reader.get(f"/api/v1/reports/broadcasts/{code}")
    assert report.status_code == 200, report.text
    assert report.json()["report_url"] == f"/exercises/reports/notices/{code}"
    page = _page(browser, served, Role.viewer)
    response = page.goto(url + report.json()["report_url"])
    assert response is not None and response.status == 200
    assert page.locator("svg[role=img] title").count() >= 1  # charts drawn on the server
    assert page.locator("table").count() >= 1  # and their figures as tables
    assert page.locator(f"a[href='/exercises/reports/notices/{code}/report.pdf']").count() == 1
    _clean(page, "a test notice's report")
    pdf = page.request.get(f"{url}/exercises/reports/notices/{code}/report.pdf")
    assert pdf.ok and pdf.body().startswith(b"%PDF")
    assert page.goto(url + "/exercises/reports/notices/NOPE00").status == 404  # type: ignore[union-attr]
