"""The staff web app's shared layout: navigation, language, stylesheet, script and rendering.

Every staff page (notices, and the administration and schedule pages) renders through
`render_staff`, which wraps it in templates/staff/layout.html: skip link, service name,
navigation (only the links the signed-in person may use), language switch and sign-out.
Words come from the gettext domain "webapp" (locales/<lang>/LC_MESSAGES/webapp.po), Swedish
by default and English on request; the choice is kept in a cookie so every page follows it.

To add a page to the navigation, append a `NavLink` to `NAV` (and its label's Swedish to
webapp.po); to add a folder of templates, append it to `TEMPLATE_DIRS`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import ChoiceLoader, Environment, FileSystemLoader, StrictUndefined

from service.accounts.permissions import Public
from service.accounts.principal import Principal
from service.accounts.roles import Scope
from service.config import get_settings
from service.rendering.catalogs import load_catalog
from service.web.headers import CSP, staff_policy
from service.web.phrasebook import Phrasebook

WEB_DIR = Path(__file__).resolve().parent
STATIC_DIR = WEB_DIR / "static"
ACCOUNTS_CSS = WEB_DIR.parent / "accounts" / "templates" / "staff.css"
DOMAIN = "webapp"
LANGUAGES = {"sv": "Svenska", "en": "English"}
DEFAULT_LANGUAGE = "sv"
LANGUAGE_COOKIE = "kv_lang"
HEADERS = {"Cache-Control": "no-store", CSP: staff_policy()}


@dataclass(frozen=True)
class NavLink:
    """One link of the staff navigation; shown to those holding `scope` (None: everyone)."""

    path: str
    label: str  # an English msgid of the webapp domain
    scope: Scope | None = None


# The staff navigation, in order. Other pages add their link here.
NAV: list[NavLink] = [
    NavLink("/notices", "Notices", Scope.notices_read),
    NavLink("/notices/new", "Write a notice", Scope.notices_write),
    NavLink("/exercises/schedules", "Schedules and exercises", Scope.reports_read),
    NavLink("/admin/recipients", "Recipients", Scope.recipients_read),
    NavLink("/admin/users", "Administration", Scope.admin),
    NavLink("/account", "Your account"),
]

# Folders of staff templates; the layout's own comes first. Other pages add theirs here.
TEMPLATE_DIRS: list[Path] = [WEB_DIR / "templates" / "staff", WEB_DIR / "notices" / "templates"]

# The files the pages load, by the name they are served under (nothing else is served).
STATIC_FILES: dict[str, tuple[Path, str]] = {
    "staff.css": (ACCOUNTS_CSS, "text/css; charset=utf-8"),
    "webapp.css": (STATIC_DIR / "webapp.css", "text/css; charset=utf-8"),
    "webapp.js": (STATIC_DIR / "webapp.js", "text/javascript; charset=utf-8"),
}

router = APIRouter(tags=["pages"])


@router.get("/static/{name}", include_in_schema=False, operation_id="staff_static")
def static_file(name: str, _open: Public) -> Response:
    """The staff pages' stylesheets, script and scenario pictograms (public: no data)."""
    if name.startswith("pictogram-") and name.endswith(".svg"):
        scenario = name.removeprefix("pictogram-").removesuffix(".svg")
        pictograms = get_settings().templates_dir / "_pictograms"
        found = {p.stem: p for p in pictograms.glob("*.svg")}  # never a path built from input
        if scenario not in found:
            raise HTTPException(404, "no such file")
        return Response(
            found[scenario].read_bytes(),
            media_type="image/svg+xml",
            headers={"Cache-Control": "max-age=300"},
        )
    if name not in STATIC_FILES:
        raise HTTPException(404, "no such file")
    path, media_type = STATIC_FILES[name]
    return Response(
        path.read_bytes(), media_type=media_type, headers={"Cache-Control": "max-age=300"}
    )


def _identity(message: str, **variables: Any) -> str:
    return message % variables if variables else message


@lru_cache
def _environment(dirs: tuple[Path, ...]) -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(d) for d in dirs]),
        autoescape=True,
        undefined=StrictUndefined,
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]
        _identity, lambda s, p, n, **v: _identity(s if n == 1 else p, **v), newstyle=True
    )
    return env


def staff_environment() -> Environment:
    """The Jinja environment over every staff template folder (autoescaped, strict)."""
    return _environment(tuple(TEMPLATE_DIRS))


def staff_language(request: Request) -> str:
    """`?lang=` if given, else the language chosen before (cookie), else Swedish."""
    asked = request.query_params.get("lang") or request.cookies.get(LANGUAGE_COOKIE)
    return asked if asked in LANGUAGES else DEFAULT_LANGUAGE


class Words:
    """The webapp domain's words in one language: `gettext`, and `translated` for validators."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.catalog = load_catalog(get_settings().locales_dir, language, domain=DOMAIN)

    def translated(self, msgid: str) -> str | None:
        """The translation, or None when there is none (English: the msgid itself)."""
        if self.language == "en":
            return msgid
        text, _status = self.catalog.lookup(msgid)
        return text

    def gettext(self, msgid: str, **variables: Any) -> str:
        """The translation of `msgid` (English when missing), with %(name)s filled in."""
        text = self.translated(msgid) or msgid
        return text % variables if variables else text

    def ngettext(self, singular: str, plural: str, n: int, **variables: Any) -> str:
        """The plural form for `n`; `num` is `n` unless given."""
        variables.setdefault("num", n)
        if self.language == "en":
            text = singular if n == 1 else plural
        else:
            found, _status = self.catalog.lookup(singular, n)
            text = found or (singular if n == 1 else plural)
        return text % variables


def nav_links(principal: Principal | None, current: str) -> list[dict[str, Any]]:
    """The navigation the person may use, marking the page they are on."""
    if principal is None:
        return []
    links = []
    for link in NAV:
        if link.scope is None or principal.has(link.scope):
            here = current == link.path or (
                link.path != "/notices" and current.startswith(link.path + "/")
            )
            links.append({"path": link.path, "label": link.label, "current": here})
    return links


def layout_context(request: Request, principal: Principal | None) -> dict[str, Any]:
    """What the staff layout needs: language and its switch, navigation, the person, the token."""
    language = staff_language(request)
    query = dict(request.query_params)
    switch = []
    for tag, name in LANGUAGES.items():
        if tag != language:
            other = urlencode({**query, "lang": tag})
            switch.append({"tag": tag, "name": name, "href": f"{request.url.path}?{other}"})
    return {
        "lang": language,
        "languages": switch,
        "nav": nav_links(principal, request.url.path),
        "principal": principal,
        "csrf_token": principal.csrf_token if principal else "",
        "municipality": get_settings().municipality_name,
        "with_script": True,
    }


def remember_language(request: Request, response: Response) -> Response:
    """Keep a language asked for with `?lang=` (a cookie), so every staff page follows it."""
    asked = request.query_params.get("lang")
    if asked in LANGUAGES:
        response.set_cookie(LANGUAGE_COOKIE, asked, samesite="lax", httponly=True, path="/")
    return response


def _scenario_of(context: dict[str, Any]) -> str | None:
    """The scenario a notice page is about (its fields' labels name the fields in messages)."""
    scenario = context.get("scenario")
    found = getattr(scenario, "id", None) or getattr(context.get("record"), "scenario", None)
    return found if isinstance(found, str) else None


def render_staff(
    request: Request,
    principal: Principal | None,
    template: str,
    *,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """A staff page in the person's language, with the layout around it; never cached."""
    layout = layout_context(request, principal)
    words = Words(layout["lang"])
    phrasebook = Phrasebook(words, scenario=_scenario_of(context))
    html = (
        staff_environment()
        .get_template(template)
        .render(
            **layout,
            _=words.gettext,
            gettext=words.gettext,
            ngettext=words.ngettext,
            words=words,
            said=phrasebook.said,
            language_label=phrasebook.language,  # "sv" -> "svenska", in the page's language
            **context,
        )
    )
    response = HTMLResponse(html, status_code=status_code, headers=HEADERS)
    remember_language(request, response)
    return response
