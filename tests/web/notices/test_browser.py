"""The communicator web app in headless Chromium: compose, fix, preview, approve, send, follow.

One server (uvicorn on 127.0.0.1 with its own SQLite database, the demo register and users, one
worker and one releaser sending to the outbox transports) and one browser for the module.
Every page is audited with axe-core (WCAG 2.2 AA) as shown and at 320 px.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from service.audit.models import AuditEvent
from service.content import ContentLibrary
from service.notices.models import NoticeRecord
from service.store.database import session_scope
from tests.accessibility import chromium
from tests.web.notices.support import (
    APPROVER,
    AUTHOR,
    SOLO,
    Served,
    audit,
    example,
    fill_compose,
    screenshot,
    served_app,
    sign_in,
)

CODE = re.compile(r"/notices/([A-Z0-9]+)")
# A send or a preview renders and checks every version (60 for the heat wave): on a busy
# machine that takes longer than expect()'s 5 s default.
expect.set_options(timeout=30_000)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    patch = pytest.MonkeyPatch()
    try:
        with served_app(tmp_path_factory.mktemp("webapp"), patch) as served:
            yield served
    finally:
        patch.undo()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as launched:
        yield launched


def _code(page: Page) -> str:
    found = CODE.search(page.url)
    assert found, page.url
    return found.group(1)


def _events(code: str, action: str) -> list[AuditEvent]:
    with session_scope() as session:
        record = session.scalars(sa.select(NoticeRecord).where(NoticeRecord.code == code)).one()
        return list(
            session.scalars(
                sa.select(AuditEvent).where(
                    AuditEvent.subject_id == str(record.id), AuditEvent.action == action
                )
            )
        )


def _status(code: str) -> str:
    with session_scope() as session:
        return session.scalars(
            sa.select(NoticeRecord.status).where(NoticeRecord.code == code)
        ).one()


def _compose(page: Page, base: str, raw: dict, library: ContentLibrary) -> str:  # type: ignore[type-arg]
    """Choose the scenario, fill the form, save and preview; the new notice's code."""
    page.goto(f"{base}/notices/new")
    page.check(f"#scenario-{raw['scenario']}")
    page.click("form[action='/notices/new'] button[type=submit]")
    fill_compose(page, raw, library)
    page.click("button[name=action][value=preview]")
    expect(page).to_have_url(re.compile(r"/notices/[A-Z0-9]+/preview$"))
    return _code(page)


def _ask_for_approval(page: Page, base: str, code: str) -> None:
    page.goto(f"{base}/notices/{code}")
    page.click("form[action$='/submit'] button")
    expect(page.locator(".tag.state-submitted")).to_be_visible()


def _approve_and_send(page: Page, base: str, code: str, *, check: bool = False) -> None:
    page.goto(f"{base}/notices/{code}")
    page.click(f"a[href='/notices/{code}/approve']")
    impact = page.locator("#impact").inner_text()
    assert re.search(r"Detta skickar [\d\s]+ sms och [\d\s]+ e-postmeddelanden till", impact)
    if check:
        audit(page, "approve")
    box = page.locator("#accept_failed_checks")
    if box.count():
        box.check()
    page.click("form[action$='/approve'] button[type=submit]")
    expect(page).to_have_url(re.compile(f"/notices/{code}/send$"))
    if check:
        audit(page, "send")
    # A double click: the page's script lets one request through, the release sends once.
    page.dblclick("#send-form button[type=submit]")
    expect(page).to_have_url(re.compile(f"/notices/{code}\\?done="))
    assert _status(code) == "sent"


def test_author_writes_fixes_previews_and_approver_sends_then_update_and_all_clear(
    server: Served, browser: Browser, library: ContentLibrary
) -> None:
    base = server.url
    author = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    sign_in(author, base, AUTHOR)
    audit(author, "notices list")
    author.click("a[href='/notices/new'].button-link")
    audit(author, "scenario chooser")
    author.check("#scenario-water_outage")
    author.click("form[action='/notices/new'] button[type=submit]")
    expect(author).to_have_title(re.compile("Skriv ett meddelande: Vattenavbrott"))
    audit(author, "compose", narrow=False)  # at 320 px below, with its errors shown
    raw = example("water_outage_skultuna.json")
    fill_compose(author, raw, library)  # the two water points grow the list by one
    author.fill("#f-area_name", "")  # the deliberate error
    author.click("button[name=action][value=preview]")
    summary = author.locator("#error-summary")
    expect(summary).to_be_visible()
    expect(author).to_have_title(re.compile("^Fel: "))
    expect(summary).to_contain_text("Område: måste fyllas i")
    expect(author.locator("#f-area_name")).to_have_attribute("aria-invalid", "true")
    audit(author, "compose with errors")
    screenshot(author, "compose-with-errors")
    summary.locator("a[href='#f-area_name']").click()
    expect(author.locator("#f-area_name")).to_be_focused()
    author.keyboard.type("Skultuna")
    author.click("button[name=action][value=preview]")
    expect(author).to_have_url(re.compile(r"/preview$"))
    code = _code(author)
    expect(author.locator(".phone .bubble").first).to_contain_text("Skultuna")
    expect(author.locator("#plan")).to_be_visible()
    audit(author, "preview")
    screenshot(author, "preview")
    pdf = author.locator("a[href$='.pdf']").first.get_attribute("href")
    assert pdf is not None
    image = author.request.get(base + pdf.removesuffix(".pdf") + ".png")
    assert image.status == 200 and image.headers["content-type"] == "image/png"
    assert author.request.get(base + pdf).body().startswith(b"%PDF")
    _ask_for_approval(author, base, code)
    refused = author.goto(f"{base}/notices/{code}/approve")  # an author may not approve at all
    assert refused is not None and refused.status == 403
    expect(author.locator("h1")).to_have_text("Du har inte behörighet till det här")
    expect(author).to_have_title("Du har inte behörighet till det här – Klarvarsel")
    expect(author.locator("main a[href='/notices']")).to_have_text("Gå till Meddelanden")
    audit(author, "error page", narrow=False)

    approver = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
    sign_in(approver, base, APPROVER)
    _approve_and_send(approver, base, code, check=True)
    assert len(_events(code, "notice.sent")) == 1
    token = approver.request.post(  # the same form again, as a retried request would
        f"{base}/notices/{code}/send",
        form={"csrf_token": _csrf(approver), "token": "whatever", "when": "now"},
    )
    assert "done=already-sent" in token.url
    assert len(_events(code, "notice.sent")) == 1
    approver.goto(f"{base}/notices/{code}")
    expect(approver.locator("#progress-percent")).to_have_text("100 %", timeout=30_000)
    expect(approver.locator("svg.chart title")).to_have_text("Utskick över tid")
    expect(approver.locator("#not-reached")).to_be_visible()
    audit(approver, "notice page after sending")
    screenshot(approver, "notice")
    report = approver.request.get(f"{base}/api/v1/notices/{code}/report.csv")
    assert report.status == 200 and "text/csv" in report.headers["content-type"]

    # An update: compose opens prefilled, linked to the first notice.
    author.goto(f"{base}/notices/{code}")
    author.click("form[action$='/follow-up'] button:has-text('Skicka en uppdatering')")
    expect(author).to_have_url(re.compile(r"/edit$"))
    expect(author.locator("#f-area_name")).to_have_value("Skultuna")
    expect(author.locator("h1")).to_contain_text(f"Uppdatering av meddelande {code}")
    author.fill("#f-expected_end-time", "18:00")
    author.click("button[name=action][value=preview]")
    update = _code(author)
    _ask_for_approval(author, base, update)
    _approve_and_send(approver, base, update)
    author.goto(f"{base}/notices/{update}")
    author.click("form[action$='/follow-up'] button:has-text('Skicka faran över')")
    author.click("button[name=action][value=preview]")
    all_clear = _code(author)
    _ask_for_approval(author, base, all_clear)
    _approve_and_send(approver, base, all_clear)
    approver.goto(f"{base}/notices/{code}")
    thread = approver.locator("ol li").all_inner_texts()
    assert [t.split(" · ")[0] for t in thread] == [
        f"Första meddelande {code}",
        f"Uppdatering {update}",
        f"Faran över {all_clear}",
    ]


def _csrf(page: Page) -> str:
    value = page.locator("input[name=csrf_token]").first.get_attribute("value")
    assert value
    return value


def _tab_to(page: Page, selector: str, limit: int = 80) -> None:
    """Press Tab until `selector` has the focus, which must be visible (an outline)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            outline = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
            assert outline != "none", f"no visible focus on {selector}"
            return
    raise AssertionError(f"Tab never reached {selector}")


def test_keyboard_only_from_sign_in_to_send(
    server: Served, browser: Browser, library: ContentLibrary
) -> None:
    base = server.url
    author = browser.new_context().new_page()
    sign_in(author, base, AUTHOR)
    code = _compose(author, base, example("heat_wave_exercise.json"), library)

    page = browser.new_context().new_page()
    page.goto(f"{base}/login?next=/notices")
    _tab_to(page, ".skip-link")
    _tab_to(page, "#email")
    page.keyboard.type(APPROVER[0])
    page.keyboard.press("Tab")
    page.keyboard.type(APPROVER[1])
    page.keyboard.press("Enter")
    expect(page).to_have_url(f"{base}/notices")
    _tab_to(page, f"a[href='/notices/{code}']")
    page.keyboard.press("Enter")
    expect(page).to_have_title(re.compile(f"Meddelande {code}"))
    _tab_to(page, f"a[href='/notices/{code}/send']")  # an exercise needs no approval
    page.keyboard.press("Enter")
    expect(page.locator("#impact")).to_contain_text("Detta skickar")
    _tab_to(page, "#send-form button[type=submit]")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(f"/notices/{code}\\?done=sent"))
    assert _status(code) == "sent"


def test_four_eyes_and_an_edit_after_approval_withdraws_it(
    server: Served, browser: Browser, library: ContentLibrary
) -> None:
    base = server.url
    solo = browser.new_context().new_page()
    sign_in(solo, base, SOLO)
    code = _compose(solo, base, example("care_home_power_cut.json"), library)
    _ask_for_approval(solo, base, code)
    solo.goto(f"{base}/notices/{code}/approve")
    expect(solo.locator("h2#four-eyes-title")).to_have_text(
        "En annan person måste godkänna det här"
    )
    expect(solo.locator("form[action$='/approve']")).to_have_count(0)
    refused = solo.request.post(
        f"{base}/notices/{code}/approve",
        form={"csrf_token": _csrf(solo), "accept_failed_checks": "yes"},
        headers={"Accept": "text/html"},
    )
    assert refused.status == 403 and "fyra ögon" not in refused.text()  # the error page
    assert _status(code) == "submitted"

    approver = browser.new_context().new_page()
    sign_in(approver, base, APPROVER)
    approver.goto(f"{base}/notices/{code}/approve")
    box = approver.locator("#accept_failed_checks")
    if box.count():
        box.check()
    approver.click("form[action$='/approve'] button[type=submit]")
    assert _status(code) == "approved"

    solo.goto(f"{base}/notices/{code}/edit")
    expect(solo.locator(".advice").first).to_contain_text("måste godkännas på nytt")
    solo.fill("#f-facility_name", "Björkgårdens äldreboende")
    solo.click("button[name=action][value=save]")
    assert _status(code) == "draft"
    updated = _events(code, "notice.draft_updated")
    assert updated[-1].details["approval_withdrawn"] is True


def test_english_pages_and_the_missing_page(server: Served, browser: Browser) -> None:
    base = server.url
    page = browser.new_context().new_page()
    sign_in(page, base, AUTHOR)
    page.goto(f"{base}/notices/new?scenario=storm&lang=en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_title(re.compile("^Write a notice: "))
    page.goto(f"{base}/notices")  # the choice is kept
    expect(page.locator("h1")).to_have_text("Notices")
    missing = page.goto(f"{base}/notices/NOSUCH")
    assert missing is not None and missing.status == 404
    expect(page.locator("h1")).to_have_text("Page not found")  # in the language chosen
    expect(page.locator("html")).to_have_attribute("lang", "en")
    audit(page, "404 page")
