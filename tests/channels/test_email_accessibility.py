"""The e-mail HTML is accessible: axe-core finds nothing at WCAG 2.2 AA, with or without CSS."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest

from service.audiences.schemas import Register, Role
from service.content import ContentLibrary
from service.notices.schemas import Channel
from service.notices.service import validate_notice
from service.rendering.schemas import VariantKey
from service.rendering.service import render_variant
from tests.accessibility import axe_violations, chromium, describe
from tests.conftest import ROOT, load_json

ROLES = {
    "water_outage": [Role.public],
    "heat_wave": [Role.public],
    "care_home_disruption": [Role.public, Role.staff, Role.relatives],
}
LANGUAGES = ["sv", "ar", "ti"]


def email_html(library: ContentLibrary, scenario: str, key: VariantKey, **changes: Any) -> str:
    raw = load_json(ROOT / "message_templates" / scenario / "example.json")
    raw.update(changes)
    raw["languages"] = list(dict.fromkeys(["sv", key.language]))
    html = render_variant(validate_notice(raw, library), key, library).html
    assert html is not None
    return html


def every_email(library: ContentLibrary, lang: str) -> dict[str, str]:
    """The e-mails of the three example notices in one language: registers and roles."""
    return {
        f"{scenario}/{lang}/{register}-{role}": email_html(
            library, scenario, VariantKey(lang, register, role, Channel.email)
        )
        for scenario, roles in ROLES.items()
        for register in Register
        for role in roles
    }


def without_css(html: str) -> str:
    """The page as a client that drops <style> and inline styles shows it."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.DOTALL)
    return re.sub(r'\sstyle="[^"]*"', "", html)


class Outline(HTMLParser):
    """Collects the tags, attributes and headings of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_email_passes_axe_at_wcag_22_aa(library: ContentLibrary, lang: str) -> None:
    pages = every_email(library, lang)
    # The exercise marker must say what it is in words, so check a page that shows it with
    # its styles removed, as some e-mail clients do.
    exercise = email_html(
        library,
        "water_outage",
        VariantKey(lang, Register.standard, Role.public, Channel.email),
        mode="exercise",
    )
    pages[f"water_outage/{lang}/exercise, no CSS"] = without_css(exercise)
    assert len(pages) == 11
    with chromium() as browser:
        failures = {
            name: describe(violations)
            for name, html in pages.items()
            if (violations := axe_violations(browser, html))
        }
    assert failures == {}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_email_structure_survives_webmail(library: ContentLibrary, lang: str) -> None:
    language = library.languages[lang]
    for name, html in every_email(library, lang).items():
        tags = outline(html).tags
        names = [tag for tag, _ in tags]
        root = dict(tags)["html"]
        assert (root["lang"], root["dir"]) == (language.cap_language, language.direction), name
        # Webmail drops <html>: the wrapper says the language and direction again.
        wrapper = next(attrs for tag, attrs in tags if tag == "div")
        assert (wrapper["lang"], wrapper["dir"]) == (language.cap_language, language.direction)
        assert "color: #111111" in (wrapper["style"] or ""), name
        assert names.count("h1") == 1 and names.count("main") == 1, name
        assert names.index("h1") < names.index("h2"), name
        # Nothing to load and nothing to run: blocked images or scripts would hide meaning.
        assert not {"img", "script", "link", "iframe", "object", "svg"} & set(names), name
        assert not any("src" in attrs for _, attrs in tags), name
        assert "url(" not in html and "@import" not in html, name
