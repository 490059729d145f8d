"""Security headers on every response, and the Content-Security-Policy of each kind of page.

`SecurityHeaders` adds the headers every response carries and, where a route set no policy,
the strictest one (`API_POLICY`: load nothing, be framed nowhere), which is right for JSON and
fails closed for a page that forgot its own. Pages set theirs: `page_policy()` allows exactly
their inline stylesheet (by hash, so the page stays one cacheable response and needs no nonce)
and no script at all; `docs_policy()` allows Swagger UI's files from this server and its one
inline start-up script by nonce.

Referrer-Policy is strict-origin-when-cross-origin: a link out of a notice page (the
sign-language video, the municipality's site) tells the other site only our origin, never the
notice code or `?lang=ar` (which says something about the reader). It is not no-referrer,
because under no-referrer browsers send `Origin: null` on our own form posts, which CSRF
checks need to compare with our origin.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = "Content-Security-Policy"
REFERRER_POLICY = "strict-origin-when-cross-origin"
# Features no page of ours uses, switched off for the page and anything it could embed.
PERMISSIONS_POLICY = "camera=(), geolocation=(), microphone=(), payment=(), usb=()"
API_POLICY = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

_ALWAYS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": REFERRER_POLICY,
    "x-frame-options": "DENY",
    "permissions-policy": PERMISSIONS_POLICY,
}


def style_source(css: str) -> str:
    """The CSP source for one inline <style> element's exact text: 'sha256-...'."""
    digest = hashlib.sha256(css.encode("utf-8")).digest()
    return f"'sha256-{base64.b64encode(digest).decode('ascii')}'"


def page_policy(*styles: str) -> str:
    """The policy of a server-rendered page: its own inline stylesheets, no script, no frames."""
    return "; ".join(
        [
            "default-src 'none'",
            "style-src " + " ".join(style_source(css) for css in styles),
            "img-src 'self'",  # the favicon a browser asks for
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def staff_policy() -> str:
    """The policy of the staff pages: stylesheets and scripts from this server only.

    Their CSS and JavaScript are files (/static/...), so no inline code runs at all; the
    progress stream and the re-check fetch connect to this server only.
    """
    return "; ".join(
        [
            "default-src 'none'",
            "style-src 'self'",
            "script-src 'self'",
            "img-src 'self' data:",
            "connect-src 'self'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def docs_policy(nonce: str) -> str:
    """The policy of /docs: Swagger UI's files from this server, its start-up script by nonce."""
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self'",
            "img-src 'self' data:",  # Swagger UI's icons are data: URIs in its stylesheet
            "connect-src 'self'",  # the schema, and "Try it out"
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


class SecurityHeaders:
    """Pure ASGI middleware: the headers above on every HTTP response; a route's own win."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI connection."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = {**_ALWAYS, "content-security-policy": API_POLICY}
                headers += [
                    (name.encode("latin-1"), value.encode("latin-1"))
                    for name, value in wanted.items()
                    if name.encode("latin-1") not in present
                ]
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
