"""Routes of the OIDC sign-in: off unless KLARVARSEL_OIDC_ENABLED (then 404 here)."""

from __future__ import annotations

import logging

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from service.accounts import oidc
from service.accounts.authenticate import client_address
from service.accounts.csrf import same_token
from service.accounts.models import User
from service.accounts.pages import page_language
from service.accounts.permissions import Public
from service.accounts.roles import Role
from service.accounts.sessions import cookie_secure, sign, unsign
from service.accounts.users import create_user, find_user
from service.accounts.views import login_page_response, safe_next, signed_in_response
from service.api.deps import SessionDep
from service.audit.service import record
from service.channels.base import mask_address
from service.clock import utcnow
from service.config import Settings, get_settings

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/auth/oidc", tags=["accounts"])
STATE_COOKIE = "kv_oidc"


def _enabled() -> Settings:
    settings = get_settings()
    if not settings.oidc_enabled:
        raise HTTPException(404, "sign-in through an OIDC provider is not configured")
    return settings


def _redirect_uri(request: Request, settings: Settings) -> str:
    base = settings.public_base_url.rstrip("/") or str(request.base_url).rstrip("/")
    return f"{base}/auth/oidc/callback"


@router.get(
    "/start",
    operation_id="oidc_start",
    include_in_schema=False,
    responses={303: {"description": "to the provider's sign-in"}, 404: {"description": "off"}},
)
def oidc_start(request: Request, session: SessionDep, _open: Public) -> Response:
    """Send the browser to the provider, remembering state, nonce and PKCE verifier."""
    settings = _enabled()
    language = page_language(request)
    next_path = safe_next(request.query_params.get("next"))
    try:
        url, state = oidc.start(
            session, settings, _redirect_uri(request, settings), next_path, language
        )
    except Exception as exc:  # the provider is down or misconfigured: say so, keep passwords
        logger.warning("OIDC sign-in could not start: %s", exc)
        return login_page_response(
            request, language, status_code=502, errors={"oidc": "oidc_failed"}
        )
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE,
        sign(state, "oidc"),
        max_age=int(oidc.REQUEST_LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",  # the provider's redirect back is a top-level GET: Lax sends it
        secure=cookie_secure(request),
        path="/auth/oidc",
    )
    return response


def _refuse(
    request: Request, session: Session, language: str, code: str, reason: str, email: str = ""
) -> Response:
    record(
        session,
        actor="anonymous",
        action="login.failed",
        subject_type="user",
        subject_id=mask_address(email)[:64] if email else "oidc",
        source=f"web {client_address(request)}".strip(),
        details={"method": "oidc", "reason": reason[:300]},
    )
    response = login_page_response(
        request, language, status_code=403, errors={"oidc": code}, email=email
    )
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
    return response


@router.get(
    "/callback",
    operation_id="oidc_callback",
    include_in_schema=False,
    responses={
        303: {"description": "signed in"},
        403: {"description": "the provider's answer did not prove who this is, or no account"},
        404: {"description": "off"},
    },
)
def oidc_callback(request: Request, session: SessionDep, _open: Public) -> Response:
    """The provider's answer: verify it, find (or create) the user, start a session."""
    settings = _enabled()
    query = request.query_params
    state = query.get("state", "")[:200]
    cookie_state = unsign(request.cookies.get(STATE_COOKIE), "oidc")
    language = page_language(request)
    try:
        if not same_token(cookie_state, state):
            # Without this a stranger could sign a browser in as themselves (login CSRF).
            raise oidc.OidcFailed("the state does not match this browser's sign-in")
        row = oidc.take_request(session, state)
        language = str(row.extra.get("lang", language))
        if query.get("error"):
            raise oidc.OidcFailed(f"the provider answered {query.get('error')!r}")
        claims = oidc.finish(
            settings, row, query.get("code", "")[:2000], _redirect_uri(request, settings)
        )
    except oidc.OidcFailed as failed:
        logger.warning("OIDC sign-in refused: %s", failed)
        return _refuse(request, session, language, "oidc_failed", str(failed))
    email = oidc.email_of(claims)
    if email is None:
        return _refuse(request, session, language, "oidc_failed", "the ID token has no e-mail")
    user = find_user(session, email)
    if user is None and settings.oidc_auto_provision:
        user = create_user(
            session,
            email=email,
            roles=[Role(settings.oidc_default_role)],
            password=None,
            actor=f"oidc:{settings.oidc_issuer}"[:200],
            source=f"web {client_address(request)}".strip(),
            display_name=str(claims.get("name", "")),
        )
    if user is None:
        return _refuse(request, session, language, "oidc_unknown", "no account", email)
    if user.disabled:
        return _refuse(request, session, language, "oidc_disabled", "account disabled", email)
    return _signed_in(request, session, user, row.next_path)


def _signed_in(request: Request, session: Session, user: User, next_path: str) -> Response:
    user.last_login_at = utcnow()
    record(
        session,
        actor=user.email,
        action="login.succeeded",
        subject_type="user",
        subject_id=user.email,
        source=f"web {client_address(request)}".strip(),
        details={"method": "oidc"},
    )
    response = signed_in_response(
        request, session, user, method="oidc", next_path=safe_next(next_path)
    )
    response.delete_cookie(STATE_COOKIE, path="/auth/oidc")
    return response
