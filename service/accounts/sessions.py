"""Web sessions: kept in the database, referenced by a signed, HttpOnly, SameSite=Lax cookie.

The cookie holds a random token signed with a key derived from `secret_key`; the table holds
the token's SHA-256 digest. A session ends after `session_idle_minutes` without a request, after
`session_absolute_hours` in any case, and at logout (the row is deleted, so a copied cookie is
worth nothing). Every sign-in creates a new session: an id planted before sign-in never becomes
a signed-in one.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from fastapi import Request, Response
from itsdangerous import BadSignature, Signer
from sqlalchemy.orm import Session

from service.accounts.keys import digest
from service.accounts.models import User, WebSession
from service.clock import utcnow
from service.config import Settings, get_settings

SESSION_COOKIE = "kv_session"
CSRF_COOKIE = "kv_csrf"  # the anonymous form token (sign-in form), see service.accounts.csrf
TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is written at most once a minute


def _signer(purpose: str, settings: Settings | None = None) -> Signer:
    secret = (settings or get_settings()).secret_key.encode("utf-8")
    # One secret, one derived key per purpose: a CSRF cookie can never pass as a session.
    key = hmac.new(secret, f"klarvarsel {purpose} cookie".encode(), hashlib.sha256).digest()
    return Signer(key, salt=purpose, digest_method=hashlib.sha256)


def sign(value: str, purpose: str) -> str:
    """`value` with its signature, for a cookie."""
    return _signer(purpose).sign(value).decode("ascii")


def unsign(cookie: str | None, purpose: str) -> str | None:
    """The value of a signed cookie, or None if it is missing or was not signed by us."""
    if not cookie or len(cookie) > 200:
        return None
    try:
        return _signer(purpose).unsign(cookie).decode("ascii")
    except (BadSignature, UnicodeDecodeError):
        return None


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def start_session(
    session: Session, user: User, *, method: str, address: str, user_agent: str
) -> tuple[WebSession, str]:
    """A new session for `user`; returns the row and the token for the cookie."""
    settings = get_settings()
    token = secrets.token_urlsafe(32)
    now = utcnow()
    row = WebSession(
        id=digest(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(32),
        method=method,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=settings.session_absolute_hours),
        address=address[:64],
        user_agent=user_agent[:200],
    )
    session.add(row)
    session.flush()
    return row, token


def find_session(session: Session, token: str) -> WebSession | None:
    """The live session for a cookie token; an expired one is deleted and None returned."""
    row = session.get(WebSession, digest(token))
    if row is None:
        return None
    settings = get_settings()
    now = utcnow()
    idle_limit = _aware(row.last_seen_at) + timedelta(minutes=settings.session_idle_minutes)
    if now >= _aware(row.expires_at) or now >= idle_limit:
        session.delete(row)
        return None
    return row


def touch(row: WebSession) -> bool:
    """Note activity for the idle timeout (at most once a minute); True when the row changed."""
    now = utcnow()
    if now - _aware(row.last_seen_at) < TOUCH_EVERY:
        return False
    row.last_seen_at = now
    return True


def end_session(session: Session, token: str) -> WebSession | None:
    """Delete the session of this token; the deleted row, if there was one."""
    row = session.get(WebSession, digest(token))
    if row is not None:
        session.delete(row)
    return row


def purge_expired(session: Session) -> int:
    """Delete sessions past their absolute end (idle ones go when next presented)."""
    result = session.execute(sa.delete(WebSession).where(WebSession.expires_at <= utcnow()))
    return int(result.rowcount)  # type: ignore[attr-defined]


def cookie_secure(request: Request) -> bool:
    """Whether cookies get the Secure flag: always, never, or when served over HTTPS."""
    settings = get_settings()
    if settings.session_cookie_secure != "auto":
        return settings.session_cookie_secure == "always"
    return request.url.scheme == "https" or settings.public_base_url.startswith("https://")


def set_session_cookie(response: Response, request: Request, token: str) -> None:
    """The session cookie: signed, HttpOnly, SameSite=Lax, Secure over HTTPS.

    No Max-Age: the browser forgets it when it closes (and the server ends it anyway).
    """
    response.set_cookie(
        SESSION_COOKIE,
        sign(token, "session"),
        httponly=True,
        samesite="lax",
        secure=cookie_secure(request),
        path="/",
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    """Tell the browser to drop the session cookie."""
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=cookie_secure(request)
    )


def session_token(request: Request) -> str | None:
    """The session token of the request's cookie, if it carries a validly signed one."""
    return unsign(request.cookies.get(SESSION_COOKIE), "session")
