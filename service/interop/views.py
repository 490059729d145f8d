"""CAP 1.2 and Atom over HTTP: a notice's alert, the public feeds, and importing an alert.

- `GET /api/v1/notices/{code}/cap.xml` (notices:read): the CAP alert of a sent notice. A
  draft has no CAP form: its identifier, sent time and references exist once it is sent.
- `GET /feeds/cap/{code}.xml` (public): the same alert, since it is as public as the notice's
  page; the feeds link to it.
- `GET /feeds/{alerts|exercises}.atom?lang=` (public, cacheable, 304 on a conditional GET).
- `POST /api/v1/cap` (notices:write): a CAP message becomes a draft notice (the original kept).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.accounts.permissions import (
    PROTECTED_RESPONSES,
    NoticesRead,
    NoticesWrite,
    Public,
    refuse_test_key_for,
)
from service.api.deps import LibraryDep, SessionDep
from service.api.idempotency import Idempotent
from service.api.problems import problem_response
from service.config import get_settings
from service.content import ContentLibrary
from service.interop.cap_posting import CAP_EXAMPLE, PostedCap, media_type_problem, post_cap
from service.interop.capmodel import CAP_MIME_TYPE
from service.interop.export import export_record
from service.interop.feeds import FeedKind, build_feed
from service.interop.identity import SenderNotConfigured
from service.interop.validation import CapInvalid
from service.notices.publish import find_by_code

router = APIRouter(tags=["cap"])
CAP_HEADERS = {"Cache-Control": "public, max-age=60"}
CAP_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {CAP_MIME_TYPE: {}}, "description": "one CAP 1.2 alert"},
    404: {"description": "no sent notice has this code"},
}


def _not_found(code: str, why: str) -> JSONResponse:
    return problem_response(404, "not-found", "No such CAP alert", f"{code}: {why}", code=code)


def _alert(session: Session, code: str, library: ContentLibrary) -> Response:
    record = find_by_code(session, code)
    if record is None:
        return _not_found(code, "no notice has this code")
    if not record.public:
        return _not_found(
            code,
            f"the notice is {record.status}; only a sent notice has a CAP alert (its "
            "identifier, sent time and references are fixed when it is sent)",
        )
    try:
        exported = export_record(session, record, library, get_settings())
    except SenderNotConfigured as exc:
        return problem_response(500, "cap-sender", "CAP sender not configured", str(exc))
    except CapInvalid as exc:  # pragma: no cover - every shipped scenario exports validly
        problems = [str(p) for p in exc.problems]
        return problem_response(
            500, "cap-invalid", "The alert would not be valid", "; ".join(problems)
        )
    return Response(exported.xml, media_type=CAP_MIME_TYPE, headers=CAP_HEADERS)


@router.get(
    "/api/v1/notices/{code}/cap.xml",
    operation_id="notice_cap",
    response_class=Response,
    responses={**CAP_RESPONSE, **PROTECTED_RESPONSES},
)
def notice_cap(
    code: str,
    session: SessionDep,
    library: LibraryDep,
    principal: NoticesRead,
    request: Request,
) -> Response:
    """The notice as one CAP 1.2 alert (sent notices only: a draft has no CAP form yet)."""
    record = find_by_code(session, code)
    if record is not None:
        refuse_test_key_for(session, principal, request, record.mode)
    return _alert(session, code, library)


@router.get(
    "/feeds/cap/{code}.xml",
    operation_id="public_notice_cap",
    response_class=Response,
    responses=CAP_RESPONSE,
    tags=["feeds"],
)
def public_notice_cap(
    code: str, session: SessionDep, library: LibraryDep, _open: Public
) -> Response:
    """A sent notice's CAP alert, as public as its page (the feeds link here)."""
    return _alert(session, code, library)


@router.get(
    "/feeds/{kind}.atom",
    operation_id="feed",
    response_class=Response,
    tags=["feeds"],
    responses={
        200: {"content": {"application/atom+xml": {}}, "description": "an Atom feed"},
        304: {"description": "not modified since the ETag or date sent"},
        404: {"description": "no such feed or language"},
    },
)
def feed(
    kind: FeedKind,
    session: SessionDep,
    library: LibraryDep,
    _open: Public,
    lang: Annotated[str, Query(max_length=16, description="the feed's language")] = "sv",
    if_none_match: Annotated[str | None, Header(max_length=2000)] = None,
    if_modified_since: Annotated[str | None, Header(max_length=100)] = None,
) -> Response:
    """Active alerts (or exercises and tests) as Atom, after OASIS CAP-feed practice."""
    try:
        built = build_feed(session, kind, library, get_settings(), language=lang)
    except ValueError as exc:
        return problem_response(404, "not-found", "No such feed language", str(exc))
    headers = built.headers()
    if built.not_modified(if_none_match, if_modified_since):
        headers.pop("Content-Type")
        return Response(status_code=304, headers=headers)
    return Response(built.body, headers=headers)


@router.post(
    "/api/v1/cap",
    operation_id="cap_import",
    status_code=201,
    responses={
        200: {"model": PostedCap, "description": "the same message again: the earlier import"},
        201: {"model": PostedCap, "description": "a new draft notice"},
        400: {"description": "hostile or malformed XML (DTD, entities, not XML)"},
        409: {"description": "the sender used this identifier for a different message"},
        413: {"description": "larger than the limit"},
        415: {"description": "not application/cap+xml"},
        422: {"description": "not valid CAP 1.2, or not importable (an Ack, not public, ...)"},
        **PROTECTED_RESPONSES,
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {CAP_MIME_TYPE: {"schema": {"type": "string"}, "example": CAP_EXAMPLE}},
        }
    },
)
async def cap_import(
    request: Request,
    session: SessionDep,
    library: LibraryDep,
    principal: NoticesWrite,
    idempotent: Idempotent,
) -> Response:
    """Import a CAP alert as a draft notice mapped to the closest scenario, keeping the original."""
    refused = media_type_problem(request.headers.get("content-type", ""))
    if refused is not None:
        return refused
    data = await request.body()  # BodySizeLimit has bounded it already
    settings = get_settings()

    def work() -> Response:
        return post_cap(session, data, library, settings, principal)

    return await run_in_threadpool(idempotent.run, session, principal, work)
