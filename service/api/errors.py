"""Every error under /api/ as RFC 9457 problem+json: the right status, every field path, no trace.

Routes raise what their domain raises (NoticeInvalid, WorkflowError, HTTPException); these
handlers turn each into a problem. Anything unexpected is logged with an incident id and
answered with a 500 problem that names only that id: a stack trace never leaves the server.
Pages outside /api/ keep FastAPI's own answers (the sign-in redirect, HTML 404s).
"""

from __future__ import annotations

import logging
import secrets
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler, request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from service.accounts.permissions import app_routes
from service.api.problems import problem_response
from service.notices.service import NoticeInvalid, NoticeProblem
from service.workflow.schemas import ApprovalWithdrawn, NotAllowed, WorkflowError, WrongState

logger = logging.getLogger(__name__)

API_PREFIX = "/api/"
# Problem types by status (tag URIs; README "REST API" lists them).
KINDS = {
    400: "bad-request",
    401: "not-authenticated",
    403: "forbidden",
    404: "not-found",
    405: "method-not-allowed",
    406: "not-acceptable",
    409: "conflict",
    413: "body-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "rate-limited",
    500: "internal-error",
}


class ProblemException(StarletteHTTPException):
    """An HTTP error with its own problem type and extension members (e.g. `problems`)."""

    def __init__(
        self,
        status: int,
        kind: str,
        detail: str,
        *,
        headers: dict[str, str] | None = None,
        **members: Any,
    ) -> None:
        self.kind = kind
        self.members = members
        super().__init__(status, detail, headers=headers)


def query_problem(name: str, message: str) -> ProblemException:
    """422 for one bad query parameter, listed as a problem at `query.<name>`."""
    return ProblemException(
        422,
        "invalid-request",
        f"query.{name}: {message}",
        problems=[{"location": f"query.{name}", "message": message}],
    )


def _is_api(request: Request) -> bool:
    return request.url.path.startswith(API_PREFIX)


def _title(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problems_of(problems: list[NoticeProblem]) -> list[dict[str, str]]:
    """Problems as the API lists them: a dotted field path and a message each."""
    return [{"location": p.location, "message": p.message} for p in problems]


async def http_problem(request: Request, exc: Exception) -> Response:
    """An HTTPException as a problem under /api/ (its headers kept), else FastAPI's answer."""
    assert isinstance(exc, StarletteHTTPException)
    if not _is_api(request):
        return await http_exception_handler(request, exc)
    detail = exc.detail if isinstance(exc.detail, str) else _title(exc.status_code)
    members: dict[str, Any] = {}
    missing = getattr(exc, "missing", None)
    if missing:
        members["missing_permission"] = missing
    extra = getattr(exc, "members", None)
    if isinstance(extra, dict):
        members.update(extra)
    kind = getattr(exc, "kind", None) or KINDS.get(exc.status_code, "error")
    response = problem_response(exc.status_code, kind, _title(exc.status_code), detail, **members)
    for name, value in (exc.headers or {}).items():
        response.headers[name] = value
    if exc.status_code == 405:
        # Starlette names the methods of the first route that matched the path only.
        response.headers["Allow"] = ", ".join(_allowed(request))
    return response


def _allowed(request: Request) -> list[str]:
    """The methods of the most specific path that matches (/notices/preview, not /{code})."""
    path = request.url.path
    matching = [
        route
        for route in app_routes(request.app)
        if (pattern := getattr(route, "path_regex", None)) is not None and pattern.match(path)
    ]
    fewest = min((str(r.path).count("{") for r in matching), default=0)
    return sorted(
        {
            method
            for route in matching
            if str(route.path).count("{") == fewest
            for method in getattr(route, "methods", None) or ()
        }
    )


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    if parts and parts[0] == "body":
        parts = parts[1:]  # the body's fields are named as in the notice: fields.starts_at
    return ".".join(parts)


async def validation_problem(request: Request, exc: Exception) -> Response:
    """A request that does not match its schema: 422 naming the path of every problem."""
    assert isinstance(exc, RequestValidationError)
    if not _is_api(request):
        return await request_validation_exception_handler(request, exc)
    problems = [
        {
            "location": _location(error.get("loc", ())),
            "message": str(error.get("msg", "is not valid")).removeprefix("Value error, "),
        }
        for error in exc.errors()
    ]
    count = len(problems)
    return problem_response(
        422,
        "invalid-request",
        "Invalid request",
        f"the request has {count} problem{'s' if count != 1 else ''}; each is listed with "
        "its place",
        problems=problems,
    )


async def notice_problem(_request: Request, exc: Exception) -> Response:
    """An invalid notice: 422 with every problem and its field path (the validator's words)."""
    assert isinstance(exc, NoticeInvalid)
    return invalid_notice_response(exc)


def invalid_notice_response(exc: NoticeInvalid) -> JSONResponse:
    """The 422 problem for an invalid notice."""
    count = len(exc.problems)
    return problem_response(
        422,
        "invalid-notice",
        "Invalid notice",
        f"the notice has {count} problem{'s' if count != 1 else ''}; each is listed with its place",
        problems=problems_of(exc.problems),
    )


_WORKFLOW_KINDS: list[tuple[type[WorkflowError], str]] = [
    (ApprovalWithdrawn, "approval-withdrawn"),
    (NotAllowed, "not-allowed"),
    (WrongState, "wrong-state"),
    (WorkflowError, "refused"),
]


async def workflow_problem(_request: Request, exc: Exception) -> Response:
    """A workflow step that cannot be taken: 409 (or 403 for four eyes and test keys)."""
    assert isinstance(exc, WorkflowError)
    kind = next(k for cls, k in _WORKFLOW_KINDS if isinstance(exc, cls))
    return problem_response(exc.status, kind, _title(exc.status), exc.message)


async def internal_problem(request: Request, exc: Exception) -> Response:
    """Anything unexpected: logged with an incident id; the client gets only the id."""
    incident = secrets.token_hex(6)
    logger.error(
        "incident %s: %s %s failed", incident, request.method, request.url.path, exc_info=exc
    )
    return problem_response(
        500,
        "internal-error",
        "Internal Server Error",
        f"something went wrong on our side; nothing is known to have changed. Quote incident "
        f"{incident} when you report it",
        incident=incident,
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Answer every API error as application/problem+json."""
    app.add_exception_handler(StarletteHTTPException, http_problem)
    app.add_exception_handler(RequestValidationError, validation_problem)
    app.add_exception_handler(NoticeInvalid, notice_problem)
    app.add_exception_handler(WorkflowError, workflow_problem)
    app.add_exception_handler(Exception, internal_problem)
