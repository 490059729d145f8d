"""Error pages of the staff web app: every refusal on a page route is a page, not JSON.

Decided by route, not by the Accept header: a path under one of `PAGE_PREFIXES` (derived from
the routes declared for signed-in people: the notice pages, the administration, schedule and
account pages) answers an HTML page in the person's
language (`staff_language`: `?lang=`, else the cookie, else Swedish) through the staff layout,
saying what happened, what to do next, and with a link back. Anything under /api/ keeps its
problem+json (service/api/errors.py). A signed-out browser asking for a page is still sent to
sign in; a 500 names only an incident id (the trace goes to the log, never to the page).
"""

from __future__ import annotations

import inspect
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from service.accounts.authenticate import session_principal
from service.accounts.errors import NotAuthenticated
from service.accounts.permissions import access_decision, app_routes
from service.accounts.principal import Principal
from service.api import limits
from service.api.problems import byte_count
from service.config import get_settings
from service.notices.service import NoticeInvalid
from service.web.layout import NAV, Words, render_staff, staff_language
from service.workflow.schemas import WorkflowError

logger = logging.getLogger(__name__)

# The page routes, derived from the app when the pages are installed (page_prefixes): a new
# page domain is covered by declaring its routes for signed-in people, with nothing to list.
PAGE_PREFIXES: list[str] = []
# (heading, what to do next) per status: English msgids of the webapp domain.
TEXTS: dict[int, tuple[str, str]] = {
    401: ("You are not signed in", "Sign in, then open the page again."),
    403: (
        "You do not have permission for this",
        "Ask an administrator for the role you need. If you were sending a form, go back, "
        "reload the page and send it again.",
    ),
    404: ("Page not found", "Check the address, or start again from the menu."),
    405: (
        "This page cannot be used that way",
        "Open the page from its link in the menu instead of sending to it directly.",
    ),
    409: (
        "This cannot be done now",
        "Something changed in the meantime, for example the notice's state. Open it again to "
        "see where it stands.",
    ),
    413: (
        "What you sent is too large",
        "Go back and send a smaller file or shorter text. At most %(limit)s is accepted.",
    ),
    422: (
        "The form could not be read",
        "Go back, check what you filled in and send the form again.",
    ),
    429: (
        "Too many attempts",
        "Wait %(seconds)s seconds and try again.",
    ),
    500: (
        "Something went wrong on our side",
        "Nothing is known to have changed. Try again in a moment; if it happens again, tell "
        "support the incident number %(incident)s.",
    ),
}
OTHER = ("The request could not be handled", "Go back and try again, or start again from the menu.")
# Words the page uses besides TEXTS (for the catalog test).
LINK_WORDS = ("Sign in", "Back to the page you came from", "Go to %(page)s")


def page_prefixes(app: FastAPI) -> list[str]:
    """Path prefixes of the pages: routes for signed-in people (`SignedInPerson`), by section.

    A section ("/admin") counts whole when no other route lives under it, so an unknown address
    in it gets a page too; otherwise (a public calendar under "/exercises") each page route's
    fixed beginning counts. Everything else, /api/ above all, keeps the API's answers.
    """
    pages: set[str] = set()
    others: set[str] = set()
    for route in app_routes(app):
        fixed = getattr(route, "path", "").split("{", 1)[0].rstrip("/")
        decision = access_decision(route)
        (pages if decision is not None and decision.person_only else others).add(fixed)
    chosen = set()
    for fixed in pages:
        section = "/" + fixed.strip("/").split("/", 1)[0]
        shared = any(o == section or o.startswith(section + "/") for o in others)
        chosen.add(fixed if shared else section)
    return sorted(p for p in chosen if not any(p.startswith(q + "/") for q in chosen))


def is_page(path: str) -> bool:
    """Whether `path` is a staff page route (answered with HTML error pages)."""
    if path.startswith("/api/"):
        return False
    return any(path == p or path.startswith(p + "/") for p in PAGE_PREFIXES)


def _principal_of(request: Request) -> Principal | None:
    try:
        return session_principal(request)
    except Exception:  # the error page must not fail for want of a menu
        logger.warning("error page: the session could not be read", exc_info=True)
        return None


def _links(request: Request, principal: Principal | None, status: int) -> list[dict[str, str]]:
    """Where to go next: sign in (401), back where they came from, the section's start page."""
    words = Words(staff_language(request))
    path = request.url.path
    if status == 401 or principal is None:
        target = path + (f"?{request.url.query}" if request.url.query else "")
        return [{"href": "/login?" + urlencode({"next": target}), "text": words.gettext("Sign in")}]
    links = []
    referer = request.headers.get("referer", "")
    came = urlsplit(referer)
    if came.netloc == request.url.netloc and came.path and came.path != path:
        back = came.path + (f"?{came.query}" if came.query else "")
        links.append({"href": back, "text": words.gettext("Back to the page you came from")})
    usable = [n for n in NAV if n.scope is None or principal.has(n.scope)]
    # The section's own page when the person may open it, else their first page.
    section = [n for n in usable if path.startswith(n.path) and path != n.path]
    for nav in (section[-1:] or usable[:1]) if usable else []:
        page = words.gettext(nav.label)
        links.append({"href": nav.path, "text": words.gettext("Go to %(page)s", page=page)})
    return links


def error_page(
    request: Request,
    status: int,
    detail: str,
    *,
    principal: Principal | None = None,
    headers: dict[str, str] | None = None,
    **variables: Any,
) -> HTMLResponse:
    """The error page for `status` in the person's language, in the staff layout."""
    heading, advice = TEXTS.get(status, OTHER)
    words = Words(staff_language(request))
    response = render_staff(
        request,
        principal,
        "error.html",
        status_code=status,
        status=status,
        heading=words.gettext(heading),
        advice=words.gettext(advice, **variables) if variables else words.gettext(advice),
        detail=detail,
        links=_links(request, principal, status),
    )
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


async def _page_for(request: Request, status: int, detail: str, **kw: Any) -> HTMLResponse:
    principal = await run_in_threadpool(_principal_of, request) if status != 401 else None
    return error_page(request, status, detail, principal=principal, **kw)


def _detail(exc: StarletteHTTPException) -> str:
    return exc.detail if isinstance(exc.detail, str) else ""


async def _http_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    variables: dict[str, Any] = {}
    if status == 429:
        variables["seconds"] = (exc.headers or {}).get("Retry-After", "60")
    if status == 413:
        variables["limit"] = _limit_of(request)
    return await _page_for(
        request, status, _detail(exc), headers=dict(exc.headers or {}), **variables
    )


def _limit_of(request: Request) -> str:
    return byte_count(limits.body_limit(get_settings(), request.url.path))


async def _signed_out_page(request: Request, exc: Exception) -> Response:
    """GET from a browser: to sign in (and back); any other request: the 401 page."""
    assert isinstance(exc, NotAuthenticated)
    if request.method == "GET" and "text/html" in request.headers.get("accept", ""):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    return await _http_page(request, exc)


async def _invalid_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    places = ", ".join(".".join(str(p) for p in e.get("loc", ())) for e in exc.errors())
    return await _page_for(request, 422, f"not valid: {places}"[:300])


async def _invalid_notice_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, NoticeInvalid)
    return await _page_for(request, 422, "; ".join(p.message for p in exc.problems)[:300])


async def _workflow_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WorkflowError)
    return await _page_for(request, exc.status, exc.message)


async def _internal_page(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged with an incident id; the page names only the id."""
    incident = secrets.token_hex(6)
    logger.error(
        "incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc
    )
    return error_page(request, 500, "", incident=incident)


Handler = Callable[[Request, Exception], Response | Awaitable[Response]]


def _by_route(page: Handler, previous: Handler | None) -> Handler:
    """`page` for a page route, else the handler that was there before (the API's)."""

    async def handle(request: Request, exc: Exception) -> Response:
        chosen = page if is_page(request.url.path) or previous is None else previous
        answer = chosen(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    return handle


def too_large_page(scope: Scope, limit: int, sent: int, declared: bool) -> ASGIApp | None:
    """The 413 page for a page route (the body-limit middleware asks before the app runs)."""
    if not is_page(scope["path"]):
        return None
    del sent, declared

    async def answer(scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        response = error_page(
            request,
            413,
            f"the request body is over the limit of {byte_count(limit)}",
            limit=byte_count(limit),
        )
        await response(scope, receive, send)

    return answer


def install_error_pages(app: FastAPI) -> None:
    """Answer refusals on page routes with error pages; the API keeps its problem documents.

    Call it once every router is included: the page routes are read from the app here.
    """
    PAGE_PREFIXES[:] = page_prefixes(app)
    pages: list[tuple[type[Exception], Handler]] = [
        (StarletteHTTPException, _http_page),
        (NotAuthenticated, _signed_out_page),
        (RequestValidationError, _invalid_page),
        (NoticeInvalid, _invalid_notice_page),
        (WorkflowError, _workflow_page),
        (Exception, _internal_page),
    ]
    for kind, page in pages:
        app.add_exception_handler(kind, _by_route(page, app.exception_handlers.get(kind)))
    if too_large_page not in limits.PAGE_REFUSALS:
        limits.PAGE_REFUSALS.append(too_large_page)
