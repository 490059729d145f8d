"""Mounting accounts on the application: its routes, and sign-in redirects for browsers."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response

from service.accounts import oidc_views, views
from service.accounts.errors import NotAuthenticated
from service.api.errors import http_problem


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    """A browser without a session goes to sign in; API clients get the 401 and its challenge."""
    assert isinstance(exc, NotAuthenticated)
    wants_page = "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and wants_page and not request.url.path.startswith("/api/"):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), status_code=303)
    return await http_problem(request, exc)  # problem+json under /api/


def install_accounts(app: FastAPI) -> None:
    """Add the sign-in routes and the redirect of signed-out browsers to the sign-in page."""
    app.include_router(views.router)
    app.include_router(views.api_router)
    app.include_router(oidc_views.router)
    app.add_exception_handler(NotAuthenticated, _sign_in_first)
