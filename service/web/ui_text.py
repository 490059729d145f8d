"""The public page's own words (gettext domain "ui") and the Jinja environment of its templates.

The notice text comes from message_templates/ (domain "messages"); only the page around it
(skip link, language switcher, easy-read link, ...) is translated here, in
locales/<lang>/LC_MESSAGES/ui.po, so the page chrome never adds msgids to the message catalogs.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined
from markupsafe import Markup

from service.rendering.catalogs import UsageTracker, load_catalog
from service.rendering.environment import gettext_callables

UI_DOMAIN = "ui"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"


def _placeholder_gettext(message: str) -> str:
    return message


def _placeholder_ngettext(singular: str, plural: str, n: int) -> str:
    return singular if n == 1 else plural


@lru_cache
def page_environment() -> Environment:
    """The environment of service/web/templates: autoescaped and strict.

    Not sandboxed, unlike the message templates: these files ship with the code and are not
    municipality-editable; notice text reaches them only as already-rendered, escaped HTML.
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    # Real per-language callables come in through each render's context (see ui_gettext).
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _placeholder_gettext, _placeholder_ngettext, newstyle=True
    )
    return env


def has_ui_catalog(locales_dir: Path, language: str) -> bool:
    """Whether the page chrome exists in `language` (English is the source)."""
    return language == "en" or load_catalog(locales_dir, language, domain=UI_DOMAIN).exists


def ui_gettext(locales_dir: Path, language: str) -> dict[str, Callable[..., str]]:
    """`_`, `gettext` and `ngettext` for the page chrome in `language` (English when missing)."""
    tracker = UsageTracker(load_catalog(locales_dir, language, domain=UI_DOMAIN))
    return gettext_callables(tracker.gettext, tracker.ngettext)


@lru_cache
def notice_css(templates_dir: Path) -> Markup:
    """The notice stylesheet shared with e-mail and print, read once per process."""
    css = (templates_dir / "_layouts" / "notice.css").read_text("utf-8")
    # Markup: quotes in font names must reach the <style> element unescaped.
    return Markup(css)


@lru_cache
def page_style(templates_dir: Path) -> Markup:
    """The page's one inline stylesheet: notice.css, then page.css (the page around it).

    base.html puts exactly this text in its <style> element, and the page's
    Content-Security-Policy allows exactly this text by its hash (web.headers.page_policy).
    """
    page = (TEMPLATES_DIR / "page.css").read_text("utf-8")
    return Markup(f"{notice_css(templates_dir)}\n{page}")
