"""The staff pages' templates (service/accounts/templates) and their words (domain "staff").

Staff pages are Swedish by default and English on request (`?lang=en`); the words live in
locales/<lang>/LC_MESSAGES/staff.po with English msgids, like the public page's ui.po.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from service.config import get_settings
from service.rendering.catalogs import UsageTracker, load_catalog
from service.rendering.environment import gettext_callables
from service.web.headers import CSP, staff_policy

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
STAFF_DOMAIN = "staff"
LANGUAGES = ("sv", "en")  # the staff pages' languages; Swedish first
DEFAULT_LANGUAGE = "sv"
# Never cached (it may show who is signed in); the stylesheet is a file (/static/staff.css),
# so the policy allows no inline code at all.
NO_STORE = {"Cache-Control": "no-store", CSP: staff_policy()}


def _placeholder(message: str, **_: Any) -> str:
    return message


def _placeholder_n(singular: str, plural: str, n: int, **_: Any) -> str:
    return singular if n == 1 else plural


@lru_cache
def staff_environment() -> Environment:
    """Autoescaped, strict; gettext callables come with each render (see `render_page`)."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _placeholder, _placeholder_n, newstyle=True
    )
    return env


def page_language(request: Request, form: dict[str, str] | None = None) -> str:
    """The language asked for (query `lang` or form field `lang`), else Swedish."""
    asked = (form or {}).get("lang") or request.query_params.get("lang") or DEFAULT_LANGUAGE
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


def staff_gettext(language: str) -> dict[str, Any]:
    """`_`, `gettext`, `ngettext` for the staff pages in `language`."""
    catalog = load_catalog(get_settings().locales_dir, language, domain=STAFF_DOMAIN)
    tracker = UsageTracker(catalog)
    return dict(gettext_callables(tracker.gettext, tracker.ngettext))


def language_links(request: Request, language: str) -> list[dict[str, Any]]:
    """The other languages of the same page, each named in itself."""
    names = {"sv": "Svenska", "en": "English"}
    links = []
    for tag in LANGUAGES:
        if tag == language:
            continue
        query = dict(request.query_params)
        query["lang"] = tag
        links.append(
            {"tag": tag, "name": names[tag], "href": f"{request.url.path}?{urlencode(query)}"}
        )
    return links


def render_page(
    request: Request,
    template: str,
    language: str,
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """A staff page, never cached (it may show who is signed in)."""
    html = (
        staff_environment()
        .get_template(template)
        .render(
            lang=language,
            languages=language_links(request, language),
            municipality=get_settings().municipality_name,
            **staff_gettext(language),
            **context,
        )
    )
    return HTMLResponse(html, status_code=status_code, headers={**NO_STORE, **(headers or {})})
