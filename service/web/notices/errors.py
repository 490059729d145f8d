"""Error pages of the staff web app, in Swedish and English on the same page.

A browser asking for a page under /notices gets an HTML page (who to ask, where to go next)
instead of JSON; an API client still gets JSON. Both languages are on the page because an error
can come before the person's choice of language is known.
"""

from __future__ import annotations

import inspect

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.web.layout import HEADERS, Words, staff_environment, staff_language

STAFF_PREFIXES = ("/notices",)
# (Swedish, English) heading and advice per status.
TEXTS: dict[int, tuple[tuple[str, str], tuple[str, str]]] = {
    403: (
        ("Du har inte behörighet till det här", "Be en administratör om den roll du behöver."),
        ("You do not have permission for this", "Ask an administrator for the role you need."),
    ),
    404: (
        ("Sidan finns inte", "Kontrollera adressen, eller gå till listan med meddelanden."),
        ("Page not found", "Check the address, or go to the list of notices."),
    ),
    409: (
        ("Det går inte just nu", "Meddelandet är i ett läge där det här inte går."),
        ("This cannot be done now", "The notice is in a state that does not allow it."),
    ),
}
FALLBACK = (
    ("Något gick fel", "Försök igen. Om felet kvarstår, kontakta supporten."),
    ("Something went wrong", "Try again. If it happens again, contact support."),
)


def wants_page(request: Request) -> bool:
    """A browser asking for a staff page (not an API client, not the page's script)."""
    accept = request.headers.get("accept", "")
    return request.url.path.startswith(STAFF_PREFIXES) and "text/html" in accept


def error_page(request: Request, status: int, detail: str) -> HTMLResponse:
    """The error page for `status`, Swedish and English, the chosen language first."""
    language = staff_language(request)
    swedish, english = TEXTS.get(status, FALLBACK)
    blocks = [("sv", *swedish), ("en", *english)]
    if language == "en":
        blocks.reverse()
    words = Words(language)
    html = (
        staff_environment()
        .get_template("error.html")
        .render(
            lang=language,
            status=status,
            blocks=blocks,
            detail=detail,
            _=words.gettext,
            gettext=words.gettext,
            ngettext=words.ngettext,
        )
    )
    return HTMLResponse(html, status_code=status, headers=HEADERS)


def install_error_pages(app: FastAPI) -> None:
    """Answer browsers on staff pages with an HTML error page; anything else as before."""
    previous = app.exception_handlers.get(StarletteHTTPException, http_exception_handler)

    async def handle(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, StarletteHTTPException)
        if wants_page(request) and exc.status_code != 401:
            return error_page(request, exc.status_code, str(exc.detail))
        answer = previous(request, exc)
        return await answer if inspect.isawaitable(answer) else answer

    app.add_exception_handler(StarletteHTTPException, handle)
