"""The public page of a notice, /n/{code}: the link every SMS carries.

Thousands of people may open it at once, so the page is cacheable for a minute, uses no
JavaScript, and renders only the language asked for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from sqlalchemy.orm import Session

from service.accounts.permissions import open_route
from service.api.deps import LibraryDep, SessionDep
from service.audiences.schemas import Register, Role
from service.config import get_settings
from service.content import ContentLibrary
from service.notices.links import notice_url
from service.notices.models import NoticeRecord
from service.notices.publish import find_public, load_stored_notice, thread_of
from service.notices.scenarios import FieldType
from service.notices.schemas import Channel, Mode
from service.notices.service import Notice
from service.rendering.catalogs import load_catalog
from service.rendering.languages import Language
from service.rendering.schemas import RenderedVariant, VariantKey
from service.rendering.service import render_variant
from service.web.headers import CSP, page_policy
from service.web.ui_text import has_ui_catalog, page_environment, page_style, ui_gettext

# Open to anyone: the public page of a notice is the link every SMS carries.
router = APIRouter(tags=["pages"], dependencies=[Depends(open_route)])

# A minute of staleness is the price of surviving a crowd arriving from one SMS send-out.
CACHE_HEADERS = {"Cache-Control": "public, max-age=60"}
DEFAULT_LANGUAGE = "sv"
NOT_FOUND_LANGUAGES = ("sv", "en")  # the 404 page speaks both, plus the one asked for
FALSE_WORDS = ("", "0", "false", "no", "off")
HEADING = re.compile(r"<(/?)h([1-6])\b")


@dataclass(frozen=True)
class LanguageLink:
    """One entry of the language switcher."""

    language: Language
    href: str
    current: bool


def page_path(code: str, language: str, *, easy: bool) -> str:
    """The page's path for one language and register."""
    query = {"lang": language, **({"easy": "1"} if easy else {})}
    return f"/n/{code}?{urlencode(query)}"


def notice_article(variant: RenderedVariant) -> str:
    """The <article> of a rendered web variant: the notice without its standalone document.

    _layouts/web.html.j2 wraps the body in exactly one article; the body's own tags come from
    our templates and user text in it is escaped, so these two tags are the article's bounds.
    """
    html = variant.html or ""
    start, end = html.find("<article"), html.rfind("</article>")
    if start < 0 or end < start:
        raise ValueError("_layouts/web.html.j2 must wrap the notice in one <article>")
    return html[start : end + len("</article>")]


def demote_headings(fragment: str, levels: int) -> Markup:
    """Move every heading `levels` down (h1 -> h3), so an earlier message sits under its h2.

    Safe on a rendered variant: its tags come from our templates and user text in it is
    escaped, so `<h` only ever starts a real heading tag.
    """

    def lower(match: re.Match[str]) -> str:
        return f"<{match[1]}h{min(int(match[2]) + levels, 6)}"

    return Markup(HEADING.sub(lower, fragment))


def _thread(session: Session, record: NoticeRecord) -> list[NoticeRecord]:
    """The whole thread, whichever of its messages the code belongs to (oldest first)."""
    first = record
    if record.references_id is not None:
        first = session.get(NoticeRecord, record.references_id) or record
    return thread_of(session, first)


def _readable_in(notice: Notice, tag: str, library: ContentLibrary) -> bool:
    """Whether the notice has text in `tag`: a catalog, and the communicator's own text."""
    if tag != "en" and not load_catalog(library.locales_dir, tag).exists:
        return False  # no catalog: the page would be English text marked as another language
    required_free_text = [
        f.name
        for f in notice.scenario.fields
        if f.type == FieldType.translated_text and f.required and f.name in notice.fields
    ]
    return all(tag in notice.fields[name] for name in required_free_text)


def _page_languages(notices: list[Notice], library: ContentLibrary) -> list[Language]:
    """Every language the thread is sent in and can be read in, in the notices' order."""
    tags: list[str] = []
    for notice in notices:
        tags += [t for t in notice.envelope.languages if t not in tags]
    readable = [
        library.languages[t]
        for t in tags
        if t in library.languages and all(_readable_in(n, t, library) for n in notices)
    ]
    # Every notice is sent in Swedish (validation insists), so this fallback is a safety net.
    return readable or [library.languages[DEFAULT_LANGUAGE]]


def _not_found(library: ContentLibrary, asked: str | None) -> HTMLResponse:
    languages = [*NOT_FOUND_LANGUAGES]
    # Someone arriving from an Arabic SMS with a mistyped code gets the message in Arabic too.
    extra = asked if asked in library.languages else None
    if extra and extra not in languages and has_ui_catalog(library.locales_dir, extra):
        languages.append(extra)
    env = page_environment()
    style = page_style(library.root / "message_templates")
    sections = [
        Markup(
            env.get_template("not_found_section.html").render(
                lang=library.languages[tag],
                heading_level=1 if index == 0 else 2,
                **ui_gettext(library.locales_dir, tag),
            )
        )
        for index, tag in enumerate(languages)
    ]
    html = env.get_template("not_found.html").render(
        lang=library.languages[languages[0]],
        sections=sections,
        page_style=style,
        **ui_gettext(library.locales_dir, languages[0]),
    )
    headers = {**CACHE_HEADERS, CSP: page_policy(style)}
    return HTMLResponse(html, status_code=404, headers=headers)


def _render_thread(
    thread: list[NoticeRecord], notices: list[Notice], key: VariantKey, library: ContentLibrary
) -> list[RenderedVariant]:
    settings = get_settings()
    return [
        render_variant(notice, key, library, public_url=notice_url(settings, record.code))
        for record, notice in zip(thread, notices, strict=True)
    ]


@router.get(
    "/n/{code}",
    response_class=HTMLResponse,
    operation_id="public_notice_page",
    include_in_schema=False,
)
def public_notice_page(
    code: str,
    session: SessionDep,
    library: LibraryDep,
    lang: Annotated[str | None, Query(description="language tag, e.g. sv, ar")] = None,
    easy: Annotated[str | None, Query(description="1 for the easy-read version")] = None,
) -> HTMLResponse:
    """The public page of a notice and its updates, in one language and register."""
    record = find_public(session, code)
    if record is None:
        return _not_found(library, lang)
    thread = _thread(session, record)
    notices = [load_stored_notice(r, library) for r in thread]
    languages = _page_languages(notices, library)
    tags = [language.tag for language in languages]
    default = DEFAULT_LANGUAGE if DEFAULT_LANGUAGE in tags else tags[0]
    # An unknown or unreadable ?lang= still gets the message (in the default language).
    language = library.languages[lang if lang in tags else default]
    easy_read = (easy or "").lower() not in FALSE_WORDS
    register = Register.easy_read if easy_read else Register.standard
    key = VariantKey(language.tag, register, Role.public, Channel.web)
    variants = _render_thread(thread, notices, key, library)
    # Newest first: someone arriving from an SMS needs the current state (an update, the
    # all-clear or a cancel) at the top; the history follows below it, newest to oldest.
    current, *history = reversed(variants)
    newest = notices[-1]
    translation = current.translation
    style = page_style(library.root / "message_templates")
    html = (
        page_environment()
        .get_template("notice_page.html")
        .render(
            lang=language,
            easy=easy_read,
            title=current.subject,
            municipality=library.municipality,
            page_url=notice_url(get_settings(), record.code),
            languages=[
                LanguageLink(
                    lg, page_path(record.code, lg.tag, easy=easy_read), lg.tag == language.tag
                )
                for lg in languages
            ],
            register_href=page_path(record.code, language.tag, easy=not easy_read),
            sign_language_url=str(newest.envelope.sign_language_url or ""),
            no_index=any(n.envelope.mode != Mode.actual for n in notices),
            current=Markup(notice_article(current)),
            history=[demote_headings(notice_article(v), 2) for v in history],
            review_status=translation.review_status.value,
            translation_status=translation.status,
            page_style=style,
            **ui_gettext(library.locales_dir, language.tag),
        )
    )
    headers = {
        **CACHE_HEADERS,
        "Content-Language": language.cap_language,
        CSP: page_policy(style),
    }
    return HTMLResponse(html, headers=headers)
