"""CSRF: the synchroniser-token pattern.

A signed-in session has its own random token (web_sessions.csrf_token); a page puts it in every
form as the hidden field `csrf_token`, and scripts may send it as the `X-CSRF-Token` header.
Before sign-in there is no session, so the sign-in form's token lives in a signed cookie of its
own (`kv_csrf`) and the form must carry the same value. Either way a request that state-changes
without the token is refused before anything happens.
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import Depends, HTTPException, Request, Response

from service.accounts.sessions import CSRF_COOKIE, cookie_secure, sign, unsign

FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
# The largest form is the compose form of a notice in many languages (a note of 1,000
# characters per language, percent-encoded); a bigger body is refused, not parsed.
FORM_MAX_BYTES = 262_144
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
FORM_TYPE = "application/x-www-form-urlencoded"
MULTIPART_TYPE = "multipart/form-data"
MULTIPART_MAX_FILES = 1  # our uploads carry one file (a CSV) and a few fields
MULTIPART_MAX_FIELDS = 10


class CsrfRefused(HTTPException):
    """A state-changing request without the right token: 403, nothing changed."""

    def __init__(self) -> None:
        super().__init__(
            403,
            "CSRF check failed: the form's token is missing or wrong (reload the page and "
            "try again)",
        )


def same_token(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def anonymous_token(request: Request) -> str | None:
    """The sign-in form's token from its signed cookie, if the browser has one."""
    return unsign(request.cookies.get(CSRF_COOKIE), "csrf")


def ensure_anonymous_token(request: Request, response: Response) -> str:
    """The sign-in form's token, setting its cookie when the browser has none yet."""
    token = anonymous_token(request)
    if token is None:
        token = secrets.token_urlsafe(32)
        response.set_cookie(
            CSRF_COOKIE,
            sign(token, "csrf"),
            httponly=True,
            samesite="lax",
            secure=cookie_secure(request),
            path="/",
        )
    return token


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form body (last value of each field); 413 when it is too big."""
    if request.headers.get("content-type", "").split(";")[0].strip() != FORM_TYPE:
        return {}
    body = await request.body()
    if len(body) > FORM_MAX_BYTES:
        raise HTTPException(413, f"the form is larger than {FORM_MAX_BYTES} bytes")
    return dict(parse_qsl(body.decode("utf-8", errors="replace"), keep_blank_values=True))


async def token_sent(request: Request) -> str | None:
    """The token the request carries: the header, else the form field (a file upload too)."""
    header = request.headers.get(HEADER)
    if header:
        return header
    if request.headers.get("content-type", "").startswith(MULTIPART_TYPE):
        # Parsed once: Starlette keeps the form for the route (the body limit applies first).
        form = await request.form(max_files=MULTIPART_MAX_FILES, max_fields=MULTIPART_MAX_FIELDS)
        value = form.get(FORM_FIELD)
        return value if isinstance(value, str) else None
    return (await read_form(request)).get(FORM_FIELD)


async def checked_anonymous_form(request: Request) -> dict[str, str]:
    """The form fields of a pre-sign-in form whose token matches its cookie; else 403."""
    form = await read_form(request)
    if not same_token(anonymous_token(request), form.get(FORM_FIELD)):
        raise CsrfRefused()
    return form


AnonymousForm = Annotated[dict[str, str], Depends(checked_anonymous_form)]
