"""The communicator web app served for a browser: database, demo users, worker and releaser."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page, expect
from typer.testing import CliRunner

from service.accounts.roles import Role
from service.accounts.users import create_user
from service.cli import app as cli
from service.config import get_settings
from service.content import ContentLibrary
from service.delivery.worker import run_worker
from service.main import app
from service.store.database import get_engine, session_scope
from service.store.migrate import upgrade
from service.web.notices.form import form_fields
from service.workflow.releaser import run_releaser
from tests.accessibility import WCAG_TAGS, describe
from tests.conftest import ROOT
from tests.fakes import ServerThread

AUTHOR = ("author@example.se", "skriver-notiser-2026")
APPROVER = ("approver@example.se", "godkanner-utskick-2026")
SOLO = ("solo@example.se", "ensam-i-beredskap-2026")  # writes and approves (a small municipality)
SCREENSHOTS = ROOT / "var" / "screenshots"
LIST_NAMES = ("areas", "audiences", "languages", "channels")


@dataclass(frozen=True)
class Served:
    """Where the app answers."""

    url: str


@contextmanager
def served_app(folder: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Served]:
    """The whole app on 127.0.0.1 with demo data, and one worker and releaser (outbox)."""
    url = f"sqlite:///{folder / 'klarvarsel.sqlite3'}"
    monkeypatch.setenv("KLARVARSEL_DATABASE_URL", url)
    monkeypatch.setenv("KLARVARSEL_VAR_DIR", str(folder / "var"))
    monkeypatch.delenv("KLARVARSEL_PUBLIC_BASE_URL", raising=False)
    get_settings.cache_clear()
    get_engine.cache_clear()
    upgrade(url)
    assert CliRunner().invoke(cli, ["demo-data"]).exit_code == 0
    with session_scope() as session:
        create_user(
            session,
            email=SOLO[0],
            roles=[Role.author, Role.approver],
            password=SOLO[1],
            actor="test",
            source="test",
        )
    settings = get_settings()
    stop = threading.Event()
    loops = [
        threading.Thread(target=loop, args=(settings,), kwargs={"stop_event": stop}, daemon=True)
        for loop in (run_worker, run_releaser)
    ]
    for thread in loops:
        thread.start()
    try:
        with ServerThread(app) as server:
            yield Served(server.url)
    finally:
        stop.set()
        for thread in loops:
            thread.join(timeout=30)
        get_engine().dispose()
        get_settings.cache_clear()
        get_engine.cache_clear()


def example(name: str) -> dict[str, Any]:
    """A shipped example notice (demo/notices/)."""
    data: dict[str, Any] = json.loads((ROOT / "demo" / "notices" / name).read_text("utf-8"))
    return data


def sign_in(page: Page, base: str, who: tuple[str, str]) -> None:
    """Sign in through the form."""
    page.goto(f"{base}/login?next=/notices")
    page.fill("#email", who[0])
    page.fill("#password", who[1])
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/notices")


def fill_compose(
    page: Page, raw: dict[str, Any], library: ContentLibrary, *, leave_out: str = ""
) -> None:
    """Fill the compose form as a person would for `raw` (lists grow with "Add another")."""
    scenario = library.scenarios[raw["scenario"]]
    pairs = [(k, v) for k, v in form_fields(raw, scenario, library.timezone) if k != leave_out]
    for name in LIST_NAMES:
        for box in page.locator(f"input[name={name}]").all():
            box.uncheck()
    later: list[tuple[str, str]] = []
    for name, value in pairs:
        if name in ("scenario", "message_type", "references"):
            continue
        if name in LIST_NAMES or name in ("mode", "severity", "urgency", "certainty"):
            page.check(f"input[name={name}][value='{value}']")
            continue
        field = page.locator(f"[name='{name}']")
        if field.count() == 0:
            later.append((name, value))  # an item a list shows once it has grown
            continue
        kind = field.first.get_attribute("type")
        if kind in ("radio", "checkbox"):
            page.check(f"[name='{name}'][value='{value}']")
        else:
            field.first.fill(value)
    for name, value in later:
        field_name = name.rsplit(".", 1)[0].removeprefix("f.")
        page.click(f"button[name=action][value='grow:{field_name}']")
        page.locator(f"[name='{name}']").fill(value)


def audit(page: Page, name: str, *, narrow: bool = True) -> None:
    """axe-core WCAG 2.2 AA on the page as it is, and again at 320 px (no sideways scroll)."""
    violations = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
    found = violations.response["violations"]
    assert found == [], f"{name}: {describe(found)}"
    if not narrow:
        return
    size = page.viewport_size
    page.set_viewport_size({"width": 320, "height": 640})
    try:
        found = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        assert found.response["violations"] == [], (
            f"{name} at 320 px: {describe(found.response['violations'])}"
        )
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= 321, f"{name} at 320 px scrolls sideways ({overflow} px)"
    finally:
        if size:
            page.set_viewport_size(size)


def screenshot(page: Page, name: str) -> None:
    """Save a full-page screenshot for review (var/screenshots/, not committed)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
