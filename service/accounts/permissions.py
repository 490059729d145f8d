"""Who may call a route: the dependencies every route declares, and the check that each does.

A protected route takes one Annotated parameter, e.g. `principal: ReportsRead`: FastAPI runs
`authorize` with that scope, which answers 401 (with WWW-Authenticate) when no valid
credentials came, and 403 naming the missing permission when they lack it. An open route says
so with `Public` (a parameter) or `Depends(open_route)` (a router's dependencies). Framework
routes that are not ours to decorate (the docs) are declared open in OPEN_PATHS.
`undecided_routes(app)` lists every route with neither; the authorisation test fails on any.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

try:
    from fastapi.routing import iter_route_contexts
except ImportError:  # pragma: no cover - FastAPI before 0.160
    iter_route_contexts = None  # type: ignore[assignment]
from fastapi.security import SecurityScopes
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.accounts.authenticate import authenticate
from service.accounts.csrf import SAFE_METHODS, CsrfRefused, same_token, token_sent
from service.accounts.errors import NotAuthenticated, PermissionMissing
from service.accounts.principal import Principal
from service.accounts.roles import Scope
from service.api.deps import SessionDep
from service.api.ratelimit import enforce as enforce_rate_limit
from service.audit.service import record
from service.config import get_settings

# Routes the framework adds, which no dependency of ours can mark. Anything else open must say
# so in code (Public / open_route); a new framework route fails the test until it is listed.
OPEN_PATHS: dict[str, str] = {
    "/openapi.json": "the API description (no data)",
}


def declare_open(path: str, reason: str) -> None:
    """Declare a framework route (a mount, a docs asset) open, with the reason."""
    OPEN_PATHS[path] = reason


def _deny(session: Session, principal: Principal, request: Request, reason: str) -> None:
    record(
        session,
        actor=principal.actor,
        action="access.denied",
        subject_type="route",
        subject_id=f"{request.method} {request.url.path}"[:64],
        source=principal.source,
        details={"reason": reason},
    )
    # Committed now: the request's own transaction is rolled back by the refusal.
    session.commit()


def _described(principal: Principal) -> str:
    if principal.is_user:
        return f"the roles of {principal.name} do not grant it"
    return "this API key does not have it"


async def authorize(
    security_scopes: SecurityScopes,
    request: Request,
    session: SessionDep,
    principal: Annotated[Principal | None, Depends(authenticate)],
) -> Principal:
    """The caller, if they hold every scope the route asks for; else 401 or 403."""
    if principal is None:
        raise NotAuthenticated(
            "authentication required: send an API key as 'Authorization: Bearer <key>' or "
            "sign in at /login"
        )
    missing = [s for s in security_scopes.scopes if not principal.has(Scope(s))]
    if missing:
        need = ", ".join(missing)
        await run_in_threadpool(_deny, session, principal, request, f"missing {need}")
        raise PermissionMissing(f"missing permission {need}: {_described(principal)}", need)
    # A browser sends the session cookie with any request: a state change needs the token that
    # only our own pages know.
    if (
        principal.is_user
        and request.method not in SAFE_METHODS
        and not same_token(principal.csrf_token, await token_sent(request))
    ):
        await run_in_threadpool(_deny, session, principal, request, "CSRF token missing")
        raise CsrfRefused()
    if not principal.is_user:
        enforce_rate_limit(principal.actor, get_settings())  # 429 with Retry-After
    return principal


async def open_route() -> None:
    """Marks a route open to anyone: public pages, health, signed provider callbacks.

    Async, so an open route never waits for the thread pool (a burst elsewhere cannot hold up
    /healthz or the provider callbacks).
    """


def signed_in_person(principal: Annotated[Principal, Security(authorize, scopes=[])]) -> Principal:
    """A person signed in through the web (an API key is refused: 403)."""
    if not principal.is_user:
        raise PermissionMissing(
            "this needs a person signed in on the web, not an API key", "signed-in person"
        )
    return principal


def refuse_test_key_for(
    session: Session, principal: Principal, request: Request, mode: str
) -> None:
    """403 when a test key reaches for a notice of another mode than exercise or test."""
    if not principal.may_touch_mode(mode):
        _deny(session, principal, request, f"test key and a notice in mode {mode}")
        raise PermissionMissing(
            f"a test key may only use exercise and test notices, not {mode} ones", "live key"
        )


Public = Annotated[None, Depends(open_route)]
Authenticated = Annotated[Principal, Security(authorize, scopes=[])]
SignedInPerson = Annotated[Principal, Depends(signed_in_person)]
NoticesRead = Annotated[Principal, Security(authorize, scopes=[Scope.notices_read.value])]
NoticesWrite = Annotated[Principal, Security(authorize, scopes=[Scope.notices_write.value])]
NoticesApprove = Annotated[Principal, Security(authorize, scopes=[Scope.notices_approve.value])]
NoticesSend = Annotated[Principal, Security(authorize, scopes=[Scope.notices_send.value])]
RecipientsRead = Annotated[Principal, Security(authorize, scopes=[Scope.recipients_read.value])]
RecipientsWrite = Annotated[Principal, Security(authorize, scopes=[Scope.recipients_write.value])]
ReportsRead = Annotated[Principal, Security(authorize, scopes=[Scope.reports_read.value])]
Admin = Annotated[Principal, Security(authorize, scopes=[Scope.admin.value])]

PROTECTED_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"description": "no valid API key or session (see WWW-Authenticate)"},
    403: {"description": "the key or the person lacks the permission the detail names"},
}


@dataclass(frozen=True)
class Decision:
    """What a route requires: open, or these scopes (and perhaps a signed-in person)."""

    open: bool
    scopes: frozenset[str] = frozenset()
    person_only: bool = False
    reason: str = ""


def _walk(dependant: Dependant, inherited: tuple[str, ...] = ()) -> Iterator[tuple[Any, list[str]]]:
    scopes = [*inherited, *(dependant.own_oauth_scopes or [])]
    yield dependant.call, scopes
    for sub in dependant.dependencies:
        yield from _walk(sub, tuple(scopes))


def app_routes(app: FastAPI) -> list[Any]:
    """Every route as the app serves it, included routers with their prefixes and dependencies.

    FastAPI 0.160 and later keep included routers whole in `app.routes`.
    """
    if iter_route_contexts is None:  # older FastAPI flattens included routers itself
        return list(app.routes)
    return list(iter_route_contexts(app.routes))


def access_decision(route: Any) -> Decision | None:
    """The route's decision, or None when it has made none."""
    path = getattr(route, "path", "")
    dependant = getattr(route, "dependant", None)
    original = getattr(route, "original_route", route)
    if not isinstance(original, APIRoute) or not isinstance(dependant, Dependant):
        return Decision(open=True, reason=OPEN_PATHS[path]) if path in OPEN_PATHS else None
    calls = list(_walk(dependant))
    required = [set(scopes) for call, scopes in calls if call is authorize]
    if required:
        person = any(call is signed_in_person for call, _ in calls)
        return Decision(open=False, scopes=frozenset().union(*required), person_only=person)
    if any(call is open_route for call, _ in calls):
        return Decision(open=True, reason="declared open")
    return None


def route_name(route: Any) -> str:
    """`METHODS path`, for messages."""
    methods = ",".join(sorted(getattr(route, "methods", None) or ["*"]))
    return f"{methods} {getattr(route, 'path', route)}"


def undecided_routes(app: FastAPI) -> list[str]:
    """Every route of `app` that declares no permission decision ("METHODS path")."""
    return [route_name(r) for r in app_routes(app) if access_decision(r) is None]
