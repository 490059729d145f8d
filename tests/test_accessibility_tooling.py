from __future__ import annotations

from tests.accessibility import axe_violations, chromium


def test_axe_finds_a_known_violation_and_passes_a_clean_page() -> None:
    with chromium() as browser:
        bad = axe_violations(browser, '<html><body><img src="x.png"></body></html>')
        good = axe_violations(
            browser,
            '<!DOCTYPE html><html lang="sv"><head><title>Test</title></head>'
            "<body><main><h1>Rubrik</h1><p>Text.</p></main></body></html>",
        )
    assert "image-alt" in {v["id"] for v in bad}
    assert good == []
