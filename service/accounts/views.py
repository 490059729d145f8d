"""Signing in and out: the sign-in page, logout, the account page and `GET /api/v1/me`."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from service.accounts.authenticate import client_address
from service.accounts.csrf import AnonymousForm, ensure_anonymous_token
from service.accounts.login import LoginRefused, sign_in
from service.accounts.models import User, WebSession
from service.accounts.pages import page_language, render_page
from service.accounts.permissions import (
    PROTECTED_RESPONSES,
    Authenticated,
    Public,
    SignedInPerson,
)
from service.accounts.roles import Role, Scope, scopes_of_roles
from service.accounts.sessions import (
    clear_session_cookie,
    end_session,
    purge_expired,
    session_token,
    set_session_cookie,
    start_session,
)
from service.api.deps import SessionDep
from service.audit.service import record
from service.config import get_settings

router = APIRouter(tags=["accounts"])
api_router = APIRouter(prefix="/api/v1", tags=["accounts"], responses=PROTECTED_RESPONSES)

NEXT_MAX = 500
DEFAULT_NEXT = "/account"


def safe_next(value: str | None) -> str:
    """A local path to go to after sign-in; anything else (another site) becomes the default."""
    if (
        not value
        or len(value) > NEXT_MAX
        or not value.startswith("/")
        or value.startswith(("//", "/\\"))
        or any(ord(c) < 32 or c == "\\" for c in value)
    ):
        return DEFAULT_NEXT
    return value


def login_page_response(
    request: Request,
    language: str,
    *,
    status_code: int = 200,
    errors: dict[str, str] | None = None,
    email: str = "",
    next_path: str = DEFAULT_NEXT,
    message: str = "",
    minutes: int = 0,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """The sign-in page; `errors` maps a field to a message code (templates/messages.html)."""
    settings = get_settings()
    placeholder = HTMLResponse("")
    token = ensure_anonymous_token(request, placeholder)
    oidc_href = "/auth/oidc/start?" + urlencode({"next": next_path, "lang": language})
    response = render_page(
        request,
        "login.html",
        language,
        status_code=status_code,
        headers=headers,
        errors=[{"field": f, "code": c} for f, c in (errors or {}).items()],
        field_errors=errors or {},
        email=email,
        next_path=next_path,
        csrf_token=token,
        message=message,
        minutes=minutes,
        oidc_provider=settings.oidc_provider_name if settings.oidc_enabled else "",
        oidc_href=oidc_href,
    )
    for cookie in placeholder.headers.getlist("set-cookie"):
        response.headers.append("set-cookie", cookie)
    return response


@router.get(
    "/login", response_class=HTMLResponse, operation_id="login_page", include_in_schema=False
)
def login_page(request: Request, _open: Public) -> HTMLResponse:
    """The sign-in page (Swedish; `?lang=en` for English)."""
    language = page_language(request)
    message = "signed_out" if request.query_params.get("signed_out") else ""
    return login_page_response(
        request,
        language,
        next_path=safe_next(request.query_params.get("next")),
        message=message,
    )


@router.post(
    "/login",
    response_class=HTMLResponse,
    operation_id="login",
    include_in_schema=False,
    responses={
        303: {"description": "signed in; the session cookie is set"},
        400: {"description": "a field is empty"},
        403: {"description": "wrong e-mail or password, a disabled account, or no CSRF token"},
        429: {"description": "too many failed attempts (Retry-After says how long to wait)"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["email", "password", "csrf_token"],
                        "properties": {
                            "email": {"type": "string", "maxLength": 254},
                            "password": {"type": "string", "maxLength": 256},
                            "csrf_token": {"type": "string"},
                            "next": {"type": "string", "maxLength": NEXT_MAX},
                            "lang": {"type": "string", "enum": ["sv", "en"]},
                        },
                    }
                }
            },
        }
    },
)
def login(request: Request, form: AnonymousForm, session: SessionDep, _open: Public) -> Response:
    """Check the e-mail address and password; start a new session (a new id at every sign-in)."""
    language = page_language(request, form)
    next_path = safe_next(form.get("next"))
    email = form.get("email", "").strip()[:254]
    try:
        user = sign_in(
            session,
            email=email,
            password=form.get("password", "")[:256],
            address=client_address(request),
        )
    except LoginRefused as refused:
        session.commit()  # the attempt and its audit event count even though we refuse
        return login_page_response(
            request,
            language,
            status_code=refused.status_code,
            errors=refused.errors,
            email=email,
            next_path=next_path,
            minutes=refused.minutes,
            headers=refused.headers,
        )
    return signed_in_response(request, session, user, method="password", next_path=next_path)


def signed_in_response(
    request: Request, session: Session, user: User, *, method: str, next_path: str
) -> Response:
    """A fresh session for `user` (the browser's old one, if any, is ended) and a redirect."""
    old = session_token(request)
    if old is not None:
        end_session(session, old)  # whatever id the browser had is never reused
    purge_expired(session)  # sessions past their absolute end; idle ones go when presented
    _row, token = start_session(
        session,
        user,
        method=method,
        address=client_address(request),
        user_agent=request.headers.get("user-agent", ""),
    )
    # Committed before the redirect: the browser's next request must find the session (the
    # request's own commit runs as the response is sent, which can be after that request).
    session.commit()
    response = RedirectResponse(start_page(user, next_path), status_code=303)
    set_session_cookie(response, request, token)
    return response


def start_page(user: User, next_path: str) -> str:
    """Where a sign-in lands: the page asked for, else the notices for whoever may read them.

    At 3 a.m. the notices are what a communicator came for; the account page is one click away.
    """
    if next_path != DEFAULT_NEXT:
        return next_path
    roles = [Role(name) for name in user.role_names if name in Role.__members__]
    return "/notices" if Scope.notices_read in scopes_of_roles(roles) else DEFAULT_NEXT


@router.post(
    "/logout",
    operation_id="logout",
    include_in_schema=False,
    responses={
        303: {"description": "signed out; the session no longer exists"},
        **PROTECTED_RESPONSES,
    },
)
def logout(request: Request, principal: SignedInPerson, session: SessionDep) -> Response:
    """End the session on the server and drop the cookie."""
    token = session_token(request)
    if token is not None:
        end_session(session, token)
    record(
        session,
        actor=principal.actor,
        action="logout",
        subject_type="user",
        subject_id=principal.name,
        source=principal.source,
    )
    language = page_language(request)
    response = RedirectResponse(f"/login?signed_out=1&lang={language}", status_code=303)
    clear_session_cookie(response, request)
    return response


def _local(value: datetime, language: str) -> str:
    value = value if value.tzinfo else value.replace(tzinfo=UTC)
    zone = ZoneInfo(get_settings().timezone)
    return format_datetime(value.astimezone(zone), "short", locale=language)


@router.get(
    "/account",
    response_class=HTMLResponse,
    operation_id="account_page",
    include_in_schema=False,
)
def account_page(request: Request, principal: SignedInPerson, session: SessionDep) -> HTMLResponse:
    """Who is signed in, with which roles, until when; the sign-out button."""
    language = page_language(request)
    row = session.get(WebSession, principal.session_id)
    assert row is not None  # the session was found a moment ago
    return render_page(
        request,
        "account.html",
        language,
        email=principal.name,
        roles=sorted(principal.roles),
        signed_in_at=_local(row.created_at, language),
        ends_at=_local(row.expires_at, language),
        idle_minutes=get_settings().session_idle_minutes,
        csrf_token=principal.csrf_token,
    )


class MeOut(BaseModel):
    """The caller as Klarvarsel sees them."""

    kind: str
    name: str
    roles: list[str]
    scopes: list[str]
    is_test: bool


@api_router.get("/me", operation_id="who_am_i")
def who_am_i(principal: Authenticated) -> MeOut:
    """Who the credentials belong to, with their scopes (and roles, for people)."""
    return MeOut(
        kind=principal.kind.value,
        name=principal.name,
        roles=sorted(principal.roles),
        scopes=sorted(principal.scopes),
        is_test=principal.is_test,
    )
