"""Accessibility audits: axe-core in Debian's headless Chromium, driven by Playwright."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, sync_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# WCAG 2.2 AA and everything below it (axe tags).
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
# Chromium must not try to reach Google's hosts: this machine has no network.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; fails (never skips) in CI when it is missing."""
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI") == "true":
            pytest.fail(f"Chromium is required in CI but {CHROMIUM} does not exist")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def axe_violations(
    browser: Browser, html: str | None = None, url: str | None = None
) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.2 AA violations for an HTML string or a URL (empty list: none)."""
    page = browser.new_page()
    try:
        if url:
            page.goto(url)
        else:
            page.set_content(html or "")
        results = Axe().run(page, options={"runOnly": {"type": "tag", "values": WCAG_TAGS}})
        violations: list[dict[str, Any]] = results.response["violations"]
        return violations
    finally:
        page.close()


def describe(violations: list[dict[str, Any]]) -> str:
    """A readable summary for an assertion message."""
    return "; ".join(
        f"{v['id']}: {v['help']} ({len(v['nodes'])} nodes, e.g. {v['nodes'][0]['html'][:120]})"
        for v in violations
    )
