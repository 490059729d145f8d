"""Who is calling: an API key in the Authorization header, else the session cookie.

A request that sends an Authorization header is judged by it alone (a bad key is a 401, never a
fall-back to a cookie). Refusals of keys that exist (revoked, expired, wrong secret) are
audited; garbage is not, so a flood of it cannot fill the audit log.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from service.accounts.errors import NotAuthenticated
from service.accounts.keys import KeyState, check_key, note_use
from service.accounts.models import ApiKey, User
from service.accounts.principal import Principal, PrincipalKind
from service.accounts.roles import Role, Scope, parse_roles, scopes_of_roles
from service.accounts.sessions import SESSION_COOKIE, find_session, touch, unsign
from service.api.deps import SessionDep
from service.audit.service import record
from service.store.database import session_scope

bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="apiKey",
    bearerFormat="kv_live_… or kv_test_…",
    description="An API key (`klarvarsel api-keys create`): `Authorization: Bearer <key>`.",
)
cookie_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="session",
    description="A signed-in person's session (sign in at /login). State-changing requests "
    "also carry the session's CSRF token (form field csrf_token or header X-CSRF-Token).",
)

_KEY_REFUSALS = {
    KeyState.unknown: "the API key is not valid",
    KeyState.revoked: "the API key was revoked",
    KeyState.expired: "the API key has expired",
}


def client_address(request: Request) -> str:
    """The caller's address as the server sees it.

    Behind a reverse proxy run uvicorn with --proxy-headers, so this is the person's address.
    """
    return request.client.host if request.client else ""


def key_principal(key: ApiKey, address: str) -> Principal:
    """The principal of a valid key."""
    return Principal(
        kind=PrincipalKind.key,
        id=key.id,
        name=key.name,
        actor=f"key:{key.prefix}",
        scopes=frozenset(Scope(s) for s in key.scopes if s in Scope._value2member_map_),
        is_test=key.is_test,
        address=address,
    )


def user_principal(user: User, address: str, session_id: str, csrf: str) -> Principal:
    """The principal of a signed-in user."""
    roles: frozenset[Role] = parse_roles(user.role_names)
    return Principal(
        kind=PrincipalKind.user,
        id=user.id,
        name=user.email,
        actor=user.email,
        scopes=scopes_of_roles(roles),
        roles=roles,
        session_id=session_id,
        csrf_token=csrf,
        address=address,
    )


def _from_key(session: Session, presented: str, address: str) -> Principal:
    state, key = check_key(session, presented)
    if state is not KeyState.valid or key is None:
        if key is not None:
            reason = "wrong secret" if state is KeyState.unknown else str(state)
            record(
                session,
                actor=f"key:{key.prefix}",
                action="key.refused",
                subject_type="api_key",
                subject_id=key.prefix,
                source=f"api {address}".strip(),
                details={"reason": reason},
            )
            session.commit()
        raise NotAuthenticated(_KEY_REFUSALS[state], error="invalid_token")
    if note_use(key, address):
        session.commit()
    return key_principal(key, address)


def _from_cookie(session: Session, cookie: str, address: str) -> Principal | None:
    token = unsign(cookie, "session")
    if token is None:
        return None
    row = find_session(session, token)
    user = session.get(User, row.user_id) if row is not None else None
    if row is None or user is None or user.disabled:
        if row is not None:
            session.delete(row)
        session.commit()  # an expired or orphaned session is deleted for good
        return None
    if touch(row):
        session.commit()
    return user_principal(user, address, row.id, row.csrf_token)


def authenticate(
    request: Request,
    session: SessionDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    cookie: Annotated[str | None, Depends(cookie_scheme)],
) -> Principal | None:
    """The caller, or None when the request carries no credentials at all (or a dead session).

    A bad Authorization header is a 401 here and now.
    """
    address = client_address(request)
    if "authorization" in request.headers:
        if bearer is None:
            raise NotAuthenticated("use 'Authorization: Bearer <API key>'", error="invalid_request")
        return _from_key(session, bearer.credentials.strip(), address)
    if cookie:
        return _from_cookie(session, cookie, address)
    return None


def session_principal(request: Request) -> Principal | None:
    """The person of the request's session cookie, if any (for the error pages' menu)."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    with session_scope() as session:
        return _from_cookie(session, cookie, client_address(request))
