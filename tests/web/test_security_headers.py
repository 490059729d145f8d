"""Security headers on every kind of response, and pages that work under their own policy.

The whole app runs under uvicorn on 127.0.0.1; Chromium loads the pages with every request to
any other host aborted, and any Content-Security-Policy violation fails the test.
"""

from __future__ import annotations

import hashlib
import re
from base64 import b64encode
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page, Route

from service.content import ContentLibrary
from service.main import app
from tests.accessibility import axe_violations, chromium, describe
from tests.live_app import LiveApp, live_app

EVERY_RESPONSE = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "strict-origin-when-cross-origin",
    "x-frame-options": "DENY",
    "permissions-policy": "camera=(), geolocation=(), microphone=(), payment=(), usb=()",
}
# Collects every CSP violation the page reports, whatever the console says.
VIOLATION_RECORDER = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, library: ContentLibrary) -> Iterator[LiveApp]:
    with live_app(tmp_path_factory.mktemp("headers"), library) as live:
        yield live


def _get(server: LiveApp, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.get(server.url + path, headers=headers, timeout=60)


def _policy(response: httpx.Response) -> dict[str, str]:
    directives = response.headers["content-security-policy"].split(";")
    names_and_values = [part.strip().partition(" ") for part in directives]
    return {name: value for name, _, value in names_and_values}


def _inline_style_hash(html: str) -> str:
    styles = re.findall(r"<style>(.*?)</style>", html, flags=re.S)
    assert len(styles) == 1, "one inline stylesheet per page"
    return "'sha256-" + b64encode(hashlib.sha256(styles[0].encode()).digest()).decode() + "'"


def test_every_response_carries_the_security_headers(server: LiveApp) -> None:
    responses = {
        "start page": _get(server, "/"),
        "notice page": _get(server, f"/n/{server.code}?lang=ar&easy=1"),
        "not found page": _get(server, "/n/NOSUCH"),
        "docs": _get(server, "/docs"),
        "docs asset": _get(server, "/docs/assets/swagger-ui.css"),
        "schema": _get(server, "/openapi.json"),
        "API": _get(server, "/api/v1/scenarios", server.headers),
        "API 404": _get(server, "/api/v1/scenarios/nope", server.headers),
        "API without a key": _get(server, "/api/v1/scenarios"),
        "unknown path": _get(server, "/nothing/here"),
        "health": _get(server, "/healthz"),
        "413": httpx.post(server.url + "/api/v1/notices/preview", content=b" " * 600_000),
    }
    for name, response in responses.items():
        for header, value in EVERY_RESPONSE.items():
            assert response.headers.get(header) == value, (name, header)
        assert _policy(response)["frame-ancestors"] == "'none'", name
    refused = {
        "not found page": 404,
        "API 404": 404,
        "API without a key": 401,
        "unknown path": 404,
        "413": 413,
    }
    assert {name: r.status_code for name, r in responses.items()} == {
        name: refused.get(name, 200) for name in responses
    }


def test_pages_allow_their_own_stylesheet_and_no_script(server: LiveApp) -> None:
    for path in ("/", f"/n/{server.code}", f"/n/{server.code}?lang=ti&easy=1", "/n/NOSUCH"):
        response = _get(server, path)
        policy = _policy(response)
        assert policy["default-src"] == "'none'", path  # so no script, font, frame, fetch
        assert "script-src" not in policy, path
        assert policy["style-src"] == _inline_style_hash(response.text), path
        assert "unsafe" not in response.headers["content-security-policy"], path
        assert "<script" not in response.text.lower(), path


def test_json_responses_may_load_nothing(server: LiveApp) -> None:
    for path in ("/healthz", "/api/v1/languages", "/openapi.json"):
        policy = _policy(_get(server, path))
        assert policy["default-src"] == "'none'" and policy["form-action"] == "'none'", path


def test_docs_are_served_from_this_server_with_a_fresh_nonce(server: LiveApp) -> None:
    first, second = _get(server, "/docs"), _get(server, "/docs")
    nonces = [re.findall(r'<script nonce="([^"]+)">', r.text) for r in (first, second)]
    assert len(nonces[0]) == 1 and nonces[0] != nonces[1]
    assert _policy(first)["script-src"] == f"'self' 'nonce-{nonces[0][0]}'"
    assert first.text.count("<script") == 2  # the bundle from this server and the start-up
    links = re.findall(r'(?:src|href)="([^"]+)"', first.text)
    assert links and all(link.startswith("/docs/assets/") for link in links), links
    assert "https://" not in first.text and "http://" not in first.text
    bundle = _get(server, "/docs/assets/swagger-ui-bundle.js")
    assert bundle.headers["content-type"] == "text/javascript; charset=utf-8"
    assert "SwaggerUIBundle" in bundle.text
    assert _get(server, "/docs/assets/index.html").status_code == 404  # only what /docs uses


def _offline_context(context: BrowserContext, blocked: list[str]) -> None:
    """Abort every request that is not to 127.0.0.1, as on an offline municipal network."""

    def guard(route: Route) -> None:
        if urlparse(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    context.route("**/*", guard)
    context.add_init_script(VIOLATION_RECORDER)


def _watch(page: Page, messages: list[str]) -> None:
    def console(message: ConsoleMessage) -> None:
        if "/n/NOSUCH" not in message.location["url"]:  # that page's own 404 is expected
            messages.append(f"{message.type}: {message.text} ({message.location['url']})")

    page.on("console", console)
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))


def test_docs_render_every_operation_offline_under_their_policy(server: LiveApp) -> None:
    operations = [
        (next(iter(item["tags"]), "default"), item["operationId"])
        for methods in app.openapi()["paths"].values()
        for item in methods.values()
    ]
    blocked: list[str] = []
    messages: list[str] = []
    with chromium() as browser:
        context = browser.new_context()
        _offline_context(context, blocked)
        page = context.new_page()
        _watch(page, messages)
        page.goto(server.url + "/docs")
        page.locator("#operations-notices-preview_notice").wait_for(state="visible")
        for tag, operation in operations:
            assert page.locator(f"#operations-{tag}-{operation}").is_visible(), operation
        violations = page.evaluate("window.__violations")
        context.close()
    assert violations == []
    assert blocked == []
    assert not [m for m in messages if "Content Security Policy" in m or m.startswith("error")]


def test_public_pages_render_under_their_policy_without_javascript(server: LiveApp) -> None:
    paths = ["/", f"/n/{server.code}", f"/n/{server.code}?lang=ar", "/n/NOSUCH?lang=fa"]
    blocked: list[str] = []
    messages: list[str] = []
    with chromium() as browser:
        for javascript in (True, False):
            context = browser.new_context(java_script_enabled=javascript)
            _offline_context(context, blocked)
            page = context.new_page()
            _watch(page, messages)
            for path in paths:
                page.goto(server.url + path)
                if javascript:
                    assert page.evaluate("window.__violations") == [], path
            # The inline stylesheet applied: the skip link waits off-screen until focused.
            page.goto(f"{server.url}/n/{server.code}")
            skip = page.locator("a.skip-link")
            assert skip.evaluate("e => getComputedStyle(e).position") == "absolute"
            # Every control is a link and works without script.
            page.get_by_role("link", name="English").click()
            assert page.url.endswith(f"/n/{server.code}?lang=en")
            assert page.locator("html").get_attribute("lang") == "en"
            context.close()
        violations = axe_violations(browser, url=f"{server.url}/n/{server.code}?lang=ar")
    assert violations == [], describe(violations)
    assert blocked == []
    assert not [m for m in messages if "Content Security Policy" in m or m.startswith("error")]
