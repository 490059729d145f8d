"""The public page per notice, /n/{code}: a real SQLite database, the real router, real Chromium."""

from __future__ import annotations

import copy
import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from babel.messages.pofile import read_po
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from service.api.deps import session_dependency
from service.content import ContentLibrary
from service.notices.publish import publish_notice
from service.notices.service import validate_notice
from service.rendering.languages import ReviewStatus
from service.rendering.messages import template_msgids
from service.store.database import make_engine, session_scope
from service.store.migrate import upgrade
from service.web import public_views
from service.web.ui_text import TEMPLATES_DIR
from tests.accessibility import axe_violations, chromium, describe
from tests.conftest import ROOT, SAMPLE_NOTICES, load_json

SIGN_VIDEO = "https://teckensprak.example.se/vatten-skultuna"
# The line a draft catalog puts on the page (Swedish: not yet checked by a language reviewer).
REVIEW_LINES = {
    "sv": "Den här texten är inte språkgranskad ännu.",
    "ar": "لم يراجع مترجم هذه الترجمة بعد.",
    "ti": "እዚ ትርጉም ክሳብ ሕጂ ብተርጓሚ ኣይተመርመረን።",
}


@dataclass(frozen=True)
class Site:
    client: TestClient
    first: str
    update: str
    all_clear: str
    exercise: str


def _publish(engine: Engine, library: ContentLibrary, raw: dict[str, Any]) -> str:
    with session_scope(engine) as session:
        stored = publish_notice(
            session, validate_notice(raw, library), raw, actor="test", source="test"
        )
        return stored.code


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, library: ContentLibrary) -> Iterator[Site]:
    # One database for the module: every test only reads, and migrating once keeps it fast.
    url = f"sqlite:///{tmp_path_factory.mktemp('public') / 'klarvarsel.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    water = load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    first = _publish(engine, library, {**water, "sent_at": "2026-11-22T20:00:00+01:00"})
    update = {**copy.deepcopy(water), "message_type": "update", "references": first}
    update.update(sent_at="2026-11-23T12:00:00+01:00")
    update_code = _publish(engine, library, update)
    # The all-clear references the update: it must still join the first notice's thread.
    all_clear = {**copy.deepcopy(water), "message_type": "all_clear", "references": update_code}
    all_clear.update(sent_at="2026-11-23T17:00:00+01:00", sign_language_url=SIGN_VIDEO)
    all_clear_code = _publish(engine, library, all_clear)
    exercise = _publish(engine, library, load_json(SAMPLE_NOTICES / "heat_wave_exercise.json"))

    def session_override() -> Iterator[Session]:
        with session_scope(engine) as session:
            yield session

    app = FastAPI()
    app.include_router(public_views.router)
    app.dependency_overrides[session_dependency] = session_override
    with TestClient(app) as client:
        yield Site(client, first, update_code, all_clear_code, exercise)
    engine.dispose()


def _get(site: Site, path: str) -> str:
    response = site.client.get(path)
    assert response.status_code == 200, response.text
    return response.text


def _position(html: str, pattern: str) -> int:
    found = re.search(pattern, html)
    assert found, pattern
    return found.start()


def test_page_shows_the_thread_newest_first_and_is_cacheable(site: Site) -> None:
    response = site.client.get(f"/n/{site.first}")
    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=60"
    assert response.headers["content-language"] == "sv-SE"
    html = response.text
    assert '<html lang="sv-SE" dir="ltr">' in html
    headings = [
        _position(html, r"<h1>\s*Vattnet är tillbaka i Skultuna\s*</h1>"),
        _position(html, r'<h2 id="history-heading">Tidigare meddelanden</h2>'),
        _position(html, r"<h3>Uppdatering: Inget kranvatten i Skultuna</h3>"),
        _position(html, r"<h3>Inget kranvatten i Skultuna</h3>"),
    ]
    assert headings == sorted(headings)
    assert html.count("<h1") == 1 and "Senaste meddelandet" in html
    assert "<script" not in html.lower()
    assert '<a class="skip-link" href="#content">Hoppa till innehållet</a>' in html
    assert '<main id="content" data-review-status="draft"' in html
    assert "<title>Vattnet är tillbaka i Skultuna – Västerås stad</title>" in html


def test_any_code_of_the_thread_in_any_case_gives_the_same_page(site: Site) -> None:
    page = _get(site, f"/n/{site.first}")
    for code in (site.first.lower(), site.update, site.all_clear.lower()):
        other = _get(site, f"/n/{code}")
        assert other.count("<article") == 3
        assert other.index("Vattnet är tillbaka") < other.index("Uppdatering:")
    assert page.count("<article") == 3


def test_language_switcher_names_each_language_in_its_own_script(
    site: Site, library: ContentLibrary
) -> None:
    html = _get(site, f"/n/{site.first}")
    nav = html[html.index("<nav") : html.index("</nav>")]
    assert "Andra språk" in nav
    for tag in ("sv", "en", "ar", "fa", "so", "ti", "fi", "uk"):
        language = library.languages[tag]
        link = (
            f'<a href="/n/{site.first}?lang={tag}" hreflang="{language.cap_language}" '
            f'lang="{language.cap_language}" dir="{language.direction}"'
        )
        assert link in nav, tag
        assert f">{language.name}</a>" in nav
    assert re.search(r'lang=sv" [^>]*aria-current="page">svenska</a>', nav)
    assert nav.count("aria-current") == 1
    assert 'dir="rtl"' in nav and ">العربية</a>" in nav and ">ትግርኛ</a>" in nav


def test_arabic_page_runs_right_to_left_with_arabic_chrome(site: Site) -> None:
    html = _get(site, f"/n/{site.first}?lang=ar")
    assert '<html lang="ar" dir="rtl">' in html
    assert "لغات أخرى" in html and "الانتقال إلى المحتوى" in html
    assert re.search(r'lang="sv-SE" dir="ltr"[^>]*>svenska</a>', html)
    assert re.search(r'lang=ar" [^>]*aria-current="page">', html)
    # The Swedish-only note is marked as Swedish inside the Arabic page.
    assert '<span lang="sv" dir="ltr">Ta med egna dunkar eller flaskor.</span>' in html


def test_easy_read_toggle_switches_register_and_keeps_the_language(site: Site) -> None:
    standard = _get(site, f"/n/{site.first}")
    assert f'<a href="/n/{site.first}?lang=sv&amp;easy=1">Lättläst version</a>' in standard
    easy = _get(site, f"/n/{site.first}?easy=1")
    assert "Nu finns det vatten i kranen igen." in easy
    assert "<h3>Uppdatering: Inget vatten i kranen i Skultuna</h3>" in easy
    assert f'<a href="/n/{site.first}?lang=sv">Vanlig version</a>' in easy
    assert f'href="/n/{site.first}?lang=ar&amp;easy=1"' in easy  # the switcher keeps easy-read


def test_unknown_language_falls_back_to_swedish(site: Site) -> None:
    for lang in ("xx", "fit", "pl"):  # unknown, no catalog, not in this notice
        html = _get(site, f"/n/{site.first}?lang={lang}")
        assert '<html lang="sv-SE" dir="ltr">' in html, lang


def test_sign_language_link_is_shown_prominently_when_the_notice_has_one(site: Site) -> None:
    html = _get(site, f"/n/{site.first}")
    top = html.index('<p class="sign-language">')
    assert top < html.index("<h1")
    assert (
        f'<a href="{SIGN_VIDEO}">Se meddelandet på svenskt teckenspråk</a>' in html[top : top + 200]
    )
    assert '<p class="sign-language">' not in _get(site, f"/n/{site.exercise}")


def test_exercise_is_marked_and_not_indexed(site: Site) -> None:
    html = _get(site, f"/n/{site.exercise}")
    assert "ÖVNING" in html
    assert '<meta name="robots" content="noindex">' in html
    assert "Tidigare meddelanden" not in html  # a thread of one has no history
    arabic = _get(site, f"/n/{site.exercise}?lang=fa-AF")
    assert '<html lang="fa-AF" dir="rtl">' in arabic


def test_unknown_code_is_a_404_page_in_swedish_and_english(site: Site) -> None:
    response = site.client.get("/n/ZZZZZZ")
    assert response.status_code == 404
    assert response.headers["cache-control"] == "public, max-age=60"
    html = response.text
    assert '<html lang="sv-SE" dir="ltr">' in html
    assert "<h1>Vi hittar inte meddelandet</h1>" in html
    assert '<section lang="en" dir="ltr" class="not-found">' in html
    assert "<h2>Message not found</h2>" in html
    assert "<script" not in html.lower()
    arabic = site.client.get("/n/ZZZZZZ?lang=ar").text
    assert '<section lang="ar" dir="rtl" class="not-found">' in arabic
    assert "لم نجد الرسالة" in arabic


def test_free_text_notice_lists_only_languages_someone_translated(
    tmp_path: Path, library: ContentLibrary
) -> None:
    url = f"sqlite:///{tmp_path / 'general.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    general = load_json(ROOT / "message_templates" / "general" / "example.json")
    for texts in general["fields"].values():
        texts.pop("ar")  # the example carries every language; this notice lacks Arabic
    code = _publish(engine, library, general)  # sv, en and ar, but text only in sv and en
    with session_scope(engine) as session:
        page = public_views.public_notice_page(code, session, library)
    html = bytes(page.body).decode()
    assert ">English</a>" in html and ">العربية</a>" not in html
    engine.dispose()


def reviewed(library: ContentLibrary, tag: str) -> ContentLibrary:
    """The shipped content, with one language's catalog marked as reviewed by a translator."""
    language = library.languages[tag].model_copy(update={"review_status": ReviewStatus.reviewed})
    return dataclasses.replace(library, languages={**library.languages, tag: language})


def test_a_draft_translation_says_so_in_its_language_and_a_source_does_not(site: Site) -> None:
    for tag, line in REVIEW_LINES.items():
        html = _get(site, f"/n/{site.first}?lang={tag}")
        assert f'<p class="review-status">{line}</p>' in html, tag
        # Visible text after the message, in the page's own language; no hidden comment.
        assert html.index('class="review-status"') > html.index("<article")
        assert "<!--" not in html
    for path in (f"/n/{site.first}?lang=en", f"/n/{site.first}?lang=sv&easy=1"):
        english_or_easy = _get(site, path)
        assert ('class="review-status"' in english_or_easy) == ("lang=sv" in path), path


def test_a_reviewed_translation_has_no_review_line(tmp_path: Path, library: ContentLibrary) -> None:
    url = f"sqlite:///{tmp_path / 'reviewed.sqlite3'}"
    upgrade(url)
    engine = make_engine(url)
    code = _publish(
        engine, library, load_json(ROOT / "message_templates" / "water_outage" / "example.json")
    )
    content = reviewed(library, "ar")
    with session_scope(engine) as session:
        arabic = public_views.public_notice_page(code, session, content, lang="ar")
        swedish = public_views.public_notice_page(code, session, content, lang="sv")
    assert 'class="review-status"' not in bytes(arabic.body).decode()
    assert f'<p class="review-status">{REVIEW_LINES["sv"]}</p>' in bytes(swedish.body).decode()
    engine.dispose()


def test_every_ui_message_is_translated_with_the_same_placeholders(
    library: ContentLibrary,
) -> None:
    used = {m for p in TEMPLATES_DIR.glob("*.html") for m, _ in template_msgids(p)}
    assert len(used) >= 10
    placeholders = re.compile(r"%\((\w+)\)s")
    for tag in library.languages:
        path = library.locales_dir / tag / "LC_MESSAGES" / "messages.po"
        if not path.exists():
            continue  # no catalog: the language is never offered on the page
        with (library.locales_dir / tag / "LC_MESSAGES" / "ui.po").open("rb") as handle:
            catalog = {m.id: m for m in read_po(handle) if m.id}
        assert set(catalog) == used, tag
        for msgid, message in catalog.items():
            assert message.string and not message.fuzzy, (tag, msgid)
            assert placeholders.findall(message.string) == placeholders.findall(msgid), tag


def test_pages_pass_axe_wcag_22_aa(site: Site) -> None:
    pages = {
        "sv": f"/n/{site.first}",
        "ar": f"/n/{site.first}?lang=ar",
        "ti": f"/n/{site.first}?lang=ti",
        "easy-read": f"/n/{site.first}?easy=1",
        "exercise": f"/n/{site.exercise}",
    }
    with chromium() as browser:
        for name, path in pages.items():
            violations = axe_violations(browser, html=_get(site, path))
            assert violations == [], f"{name}: {describe(violations)}"
        missing = site.client.get("/n/ZZZZZZ?lang=fa").text
        violations = axe_violations(browser, html=missing)
        assert violations == [], f"404: {describe(violations)}"
