"""The administration pages: their templates (one folder per domain) and words (domain "admin").

The pages stand on the web app's staff layout (service/web/templates/staff/layout.html, the same
skip link, header, navigation, language switch and sign-out as the notice pages; its context
comes from `service.web.layout.layout_context`, so the language follows `?lang=` and the
cookie). Their own words live in locales/<lang>/LC_MESSAGES/admin.po (Swedish and English,
English msgids), with staff.po's and the layout's (webapp.po) behind them. Each page's
Content-Security-Policy allows exactly its inline stylesheets, and no script.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import HTTPException, Request
from fastapi.responses import HTMLResponse
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, PrefixLoader, StrictUndefined
from markupsafe import Markup

import service
from service.accounts.csrf import FORM_MAX_BYTES, FORM_TYPE
from service.accounts.pages import DEFAULT_LANGUAGE, NO_STORE, STAFF_DOMAIN, TEMPLATES_DIR
from service.accounts.principal import Principal
from service.accounts.roles import Scope
from service.config import get_settings
from service.rendering.catalogs import MessageCatalog, UsageTracker, load_catalog
from service.rendering.environment import gettext_callables
from service.web.headers import CSP, style_source
from service.web.layout import DOMAIN as LAYOUT_DOMAIN
from service.web.layout import WEB_DIR, layout_context, remember_language

ADMIN_DOMAIN = "admin"
# The service package itself (never a folder beside the project).
SERVICE = Path(service.__file__).resolve().parent
# Template name prefix -> folder: each domain keeps its own pages' templates.
TEMPLATE_DIRS = {
    "admin": TEMPLATES_DIR / "admin",
    "recipients": SERVICE / "recipients" / "templates",
    "audit": SERVICE / "audit" / "templates",
    "exercises": SERVICE / "exercises" / "templates" / "pages",
    "web": SERVICE / "web" / "admin_templates",
    "webhooks": SERVICE / "webhooks" / "templates",
}
# The administration's own navigation under the layout's: (path, English label, scope).
NAVIGATION = (
    ("/admin/recipients", "Recipients", Scope.recipients_read),
    ("/admin/users", "Users", Scope.admin),
    ("/admin/keys", "API keys", Scope.admin),
    ("/admin/webhooks", "Webhooks", Scope.admin),
    ("/admin/audit", "Audit log", Scope.admin),
    ("/exercises/schedules", "Schedules and exercises", Scope.reports_read),
    ("/admin/content", "Audiences and scenarios", Scope.notices_read),
    ("/admin/outbox", "Outbox", Scope.admin),
)


def _placeholder(message: str, **_: Any) -> str:
    return message


def _placeholder_n(singular: str, plural: str, n: int, **_: Any) -> str:
    return singular if n == 1 else plural


@lru_cache
def admin_environment() -> Environment:
    """Autoescaped, strict; domain templates by prefix, then the staff layout."""
    env = Environment(
        loader=ChoiceLoader(
            [
                PrefixLoader({k: FileSystemLoader(v) for k, v in TEMPLATE_DIRS.items()}),
                FileSystemLoader(TEMPLATES_DIR),
                FileSystemLoader(WEB_DIR / "templates" / "staff"),  # layout.html
            ]
        ),
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


@lru_cache
def admin_catalog(locales_dir: Path, language: str) -> MessageCatalog:
    """The admin words, with the staff pages' and the layout's words behind them."""
    admin = load_catalog(locales_dir, language, domain=ADMIN_DOMAIN)
    staff = load_catalog(locales_dir, language, domain=STAFF_DOMAIN)
    layout = load_catalog(locales_dir, language, domain=LAYOUT_DOMAIN)
    return MessageCatalog(
        language,
        {**layout.entries, **staff.entries, **admin.entries},
        admin.plural,
        admin.num_plurals,
        admin.exists,
    )


def admin_gettext(language: str) -> dict[str, Any]:
    """`_`, `gettext` and `ngettext` for the administration pages in `language`."""
    tracker = UsageTracker(admin_catalog(get_settings().locales_dir, language))
    return dict(gettext_callables(tracker.gettext, tracker.ngettext))


def local_time(value: datetime | None, language: str, style: str = "short") -> str:
    """A stored (UTC) time in the service's time zone, as the language writes it."""
    if value is None:
        return "–"
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    zone = ZoneInfo(get_settings().timezone)
    return format_datetime(aware.astimezone(zone), style, locale=language)


_STYLE = re.compile(r"<style>(.*?)</style>", re.DOTALL)


def page_headers(html: str) -> dict[str, str]:
    """No caching; a policy allowing this server's stylesheets and the page's own inline ones.

    No script at all, forms only to this server. (Without a policy of its own a page would get
    the API's, whose form-action 'none' stops a browser sending any form.)
    """
    styles = " ".join(style_source(css) for css in _STYLE.findall(html))
    policy = "; ".join(
        [
            "default-src 'none'",
            f"style-src 'self' {styles}".strip(),
            "img-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )
    return {**NO_STORE, CSP: policy}


def render_admin(
    request: Request,
    template: str,
    principal: Principal,
    *,
    status_code: int = 200,
    current: str = "",
    **context: Any,
) -> HTMLResponse:
    """An administration page for the signed-in `principal`, in the staff layout."""
    layout = layout_context(request, principal)
    language = layout["lang"]
    admin_nav = [
        {"href": href, "label": label, "current": href == current}
        for href, label, scope in NAVIGATION
        if principal.has(scope)
    ]
    html = (
        admin_environment()
        .get_template(template)
        .render(
            **layout | {"with_script": False},  # the policy allows no script on these pages
            admin_nav=admin_nav,
            me=principal.name,
            local=lambda value, style="short": local_time(value, language, style),
            link=lambda path: with_language(path, language),
            **admin_gettext(language),
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code, headers=page_headers(html))
    remember_language(request, response)
    return response


def with_language(path: str, language: str) -> str:
    """`path` in the page's language (Swedish, the default, needs no parameter)."""
    if language == DEFAULT_LANGUAGE:
        return path
    return f"{path}{'&' if '?' in path else '?'}lang={language}"


def field_errors(problems: list[tuple[str, str]]) -> dict[str, str]:
    """The first message of each field, for the message next to it."""
    found: dict[str, str] = {}
    for name, message in problems:
        found.setdefault(name, message)
    return found


def english(text: str) -> Markup:
    """The service's own English words inside a page in another language, marked as such."""
    return Markup('<span lang="en">%s</span>') % text


async def form_lists(request: Request) -> dict[str, list[str]]:
    """An urlencoded form with every value of each field (checkboxes repeat a name)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        return {}
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise HTTPException(413, f"the form is larger than {FORM_MAX_BYTES} bytes")
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True):
        values.setdefault(name, []).append(value)
    return values


def first(form: dict[str, list[str]], name: str, limit: int = 1000) -> str:
    """The first value of a field, stripped and cut at `limit` characters."""
    return (form.get(name) or [""])[0].strip()[:limit]
