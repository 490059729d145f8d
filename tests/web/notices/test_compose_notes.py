"""Compose: a ticked language gets its note box at once (JavaScript) or with "Update the form".

The real app on 127.0.0.1 in headless Chromium, once with JavaScript and once without; nothing
typed is lost either way, and the page passes axe-core after the update.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect

from service.accounts.roles import Role
from service.accounts.sessions import SESSION_COOKIE
from service.main import app
from tests.accessibility import chromium
from tests.fakes import ServerThread
from tests.web.notices.support import audit
from tests.web.staff_site import StaffSite, staff_site

COMPOSE = "/notices/new?scenario=storm"


@dataclass(frozen=True)
class Site:
    """The served app and its deployment."""

    url: str
    staff: StaffSite


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    with staff_site(tmp_path_factory.mktemp("notes")) as staff, ServerThread(app) as server:
        yield Site(server.url, staff)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _author(browser: Browser, site: Site, *, script: bool) -> BrowserContext:
    cookie, _csrf = site.staff.session_cookie(Role.author)
    context = browser.new_context(java_script_enabled=script)
    context.add_cookies([{"name": SESSION_COOKIE, "value": cookie, "url": site.url}])
    return context


def _unticked(page: Page, n: int) -> list[str]:
    tags = [
        box.get_attribute("value") or ""
        for box in page.locator("input[name=languages]:not(:checked)").all()
    ]
    assert len(tags) >= n, tags
    return tags[:n]


def test_ticking_a_language_shows_its_note_box_at_once(site: Site, browser: Browser) -> None:
    page = _author(browser, site, script=True).new_page()
    page.goto(site.url + COMPOSE)
    first, second = _unticked(page, 2)
    expect(page.locator(f"#note-{first}")).to_be_hidden()
    expect(page.locator("button[value=update]")).to_be_hidden()  # JavaScript does it
    page.check(f"#languages-{first}")
    expect(page.locator(f"#note-{first}")).to_be_visible()
    page.fill(f"#note-{first}", "Ett tillägg")
    page.uncheck(f"#languages-{first}")
    expect(page.locator(f"#note-{first}")).to_be_visible()  # text in it: never hidden
    page.check(f"#languages-{second}")
    expect(page.locator(f"#note-{second}")).to_be_visible()
    page.uncheck(f"#languages-{second}")
    expect(page.locator(f"#note-{second}")).to_be_hidden()  # empty: hidden again


def test_without_javascript_update_the_form_keeps_everything(site: Site, browser: Browser) -> None:
    page = _author(browser, site, script=False).new_page()
    page.goto(site.url + COMPOSE)
    (tag,) = _unticked(page, 1)
    page.fill("#note-sv", "Håll er inomhus.")
    phone = page.locator("#contact-phone")
    phone.fill("021-39 00 00")
    page.check(f"#languages-{tag}")
    expect(page.locator(f"#note-{tag}")).to_be_hidden()
    update = page.locator("button[value=update]")
    expect(update).to_be_visible()
    update.click()
    page.wait_for_url("**/edit#notes")
    expect(page.locator(f"#note-{tag}")).to_be_visible()
    expect(page.locator(f"#languages-{tag}")).to_be_checked()
    expect(page.locator("#note-sv")).to_have_value("Håll er inomhus.")
    expect(page.locator("#contact-phone")).to_have_value("021-39 00 00")
    page.fill(f"#note-{tag}", "Stay indoors.")
    # axe-core needs script: the same saved draft, audited in a browser that runs it.
    seen = _author(browser, site, script=True).new_page()
    seen.goto(page.url)
    expect(seen.locator(f"#note-{tag}")).to_be_visible()
    audit(seen, "compose after Update the form")
