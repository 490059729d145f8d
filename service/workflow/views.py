"""REST routes for notices: drafts, submitting, four-eyes approval, sending once, follow-ups.

Thin over service.workflow: each route builds an Actor from the caller and calls one step. A
test key sees and touches only exercise and test notices, and what it sends goes to the
outbox transports. POSTs that create or send take an Idempotency-Key (service.api.idempotency).
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Body, HTTPException, Path, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from service.accounts.permissions import (
    PROTECTED_RESPONSES,
    NoticesApprove,
    NoticesRead,
    NoticesSend,
    NoticesWrite,
    refuse_test_key_for,
)
from service.accounts.principal import TEST_KEY_MODES, Principal
from service.api.deps import LibraryDep, SessionDep
from service.api.errors import problems_of, query_problem
from service.api.idempotency import Idempotent, json_response
from service.api.json_body import LimitedJSONRoute
from service.config import get_settings
from service.content import ContentLibrary
from service.notices.links import notice_url
from service.notices.models import NoticeRecord, NoticeState
from service.notices.publish import find_by_code, load_stored_notice
from service.notices.service import Notice, NoticeInvalid
from service.variants.service import render_notice, report_dict
from service.workflow import approval, drafts, sending
from service.workflow.api_schemas import (
    NOTICE_EXAMPLE,
    PAGE_MAX,
    ApprovalOut,
    ApproveIn,
    BadCursor,
    FollowUpIn,
    IsoDatetime,
    NoticeDetail,
    NoticePage,
    NoticeSummary,
    SendIn,
    SendingOut,
    decode_cursor,
    encode_cursor,
    summary,
)
from service.workflow.schemas import Actor, WrongState

router = APIRouter(
    prefix="/api/v1/notices",
    tags=["notices"],
    route_class=LimitedJSONRoute,
    responses=PROTECTED_RESPONSES,
)

Code = Annotated[
    str, Path(pattern=r"^[A-Za-z0-9]{6}$", description="the notice's code", examples=["K7M3PX"])
]
NoticeBody = Annotated[
    dict[str, Any],
    Body(
        description="a notice in the shape of demo/notices/*.json (see /api/v1/scenarios/{id}/"
        "schema for a scenario's fields)",
        examples=[NOTICE_EXAMPLE],
    ),
]
Incomplete = Annotated[
    bool,
    Query(description="keep it as work in progress although it has problems (listed in it)"),
]

ApproveBody = Annotated[ApproveIn, Body(examples=[{"accept_failed_checks": False}])]
SendBody = Annotated[SendIn, Body(examples=[{"at": None}, {"at": "2027-03-02T09:30:00+01:00"}])]


def actor_of(principal: Principal) -> Actor:
    """The workflow's Actor for the caller (audit: key:<prefix> or the person's e-mail)."""
    return Actor(
        principal.actor, "web" if principal.is_user else "api", principal.is_test, principal.address
    )


def _references(session: Session, record: NoticeRecord) -> str | None:
    if record.references_id is None:
        return None
    first = session.get(NoticeRecord, record.references_id)
    return first.code if first is not None else None


def _summary(session: Session, record: NoticeRecord) -> dict[str, Any]:
    return summary(record, _references(session, record))


def load(session: Session, code: str, principal: Principal, request: Request) -> NoticeRecord:
    """The notice with this code (404), if the caller may touch its mode (403 for test keys)."""
    record = find_by_code(session, code)
    if record is None:
        raise HTTPException(404, f"no notice has the code {code.upper()!r}")
    refuse_test_key_for(session, principal, request, record.mode)
    return record


def _validated(session: Session, record: NoticeRecord, library: ContentLibrary) -> Notice:
    if record.status == NoticeState.sent:
        return load_stored_notice(record, library)  # as it was sent
    return drafts.check(session, record.payload, library)


def detail(
    session: Session, record: NoticeRecord, library: ContentLibrary, *, checks: bool = True
) -> dict[str, Any]:
    """NoticeDetail: the state, the content, its problems and every variant's checks."""
    problems: list[dict[str, str]] = []
    warnings: list[dict[str, str]] = []
    report = None
    try:
        notice = _validated(session, record, library)
    except NoticeInvalid as exc:
        problems = problems_of(exc.problems)
    else:
        warnings = problems_of(list(notice.warnings))
        if checks:
            url = notice_url(get_settings(), record.code)
            report = report_dict(render_notice(notice, library, public_url=url))
    out = NoticeDetail.model_validate(
        {
            **_summary(session, record),
            "notice": record.payload,
            "problems": problems,
            "warnings": warnings,
            "report": report,
        }
    )
    return out.model_dump(mode="json")


CREATED: dict[int | str, dict[str, Any]] = {201: {"description": "created; Location names it"}}


@router.post(
    "",
    operation_id="create_notice",
    status_code=201,
    response_model=NoticeDetail,
    responses=CREATED,
)
def create_notice(
    raw: NoticeBody,
    library: LibraryDep,
    principal: NoticesWrite,
    session: SessionDep,
    request: Request,
    idempotent: Idempotent,
    incomplete: Incomplete = False,
) -> Response:
    """Create a draft from a notice; it gets its public code at once.

    Refused (422, every problem with its place) unless valid, or unless `incomplete=true`
    keeps work in progress. A test key writes only exercise and test notices.
    """
    refuse_test_key_for(session, principal, request, str(raw.get("mode", "actual")))

    def work() -> Response:
        record = drafts.create_draft(
            session, raw, library, actor_of(principal), complete=not incomplete
        )
        body = detail(session, record, library)
        return json_response(body, 201, location=f"/api/v1/notices/{record.code}")

    return idempotent.run(session, principal, work)


@router.get("", operation_id="list_notices", response_model=NoticePage)
def list_notices(
    session: SessionDep,
    principal: NoticesRead,
    state: Annotated[NoticeState | None, Query(description="only notices in this state")] = None,
    mode: Annotated[str | None, Query(pattern="^(actual|exercise|test)$")] = None,
    message_type: Annotated[str | None, Query(pattern="^(alert|update|all_clear|cancel)$")] = None,
    scenario: Annotated[str | None, Query(max_length=64)] = None,
    created_from: Annotated[IsoDatetime | None, Query(description="created at or after")] = None,
    created_to: Annotated[IsoDatetime | None, Query(description="created before")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="a page's next_cursor")] = None,
) -> dict[str, Any]:
    """Notices, newest first, a page at a time (a test key sees exercise and test ones only)."""
    query = sa.select(NoticeRecord).order_by(NoticeRecord.id.desc()).limit(limit + 1)
    if cursor is not None:
        try:
            query = query.where(NoticeRecord.id < decode_cursor(cursor))
        except BadCursor as exc:
            raise query_problem("cursor", str(exc)) from None
    if principal.is_test:
        query = query.where(NoticeRecord.mode.in_(sorted(TEST_KEY_MODES)))
    for column, value in (
        (NoticeRecord.status, state),
        (NoticeRecord.mode, mode),
        (NoticeRecord.message_type, message_type),
        (NoticeRecord.scenario, scenario),
    ):
        if value is not None:
            query = query.where(column == str(value))
    if created_from is not None:
        query = query.where(NoticeRecord.created_at >= _utc_bound(created_from))
    if created_to is not None:
        query = query.where(NoticeRecord.created_at < _utc_bound(created_to))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [_summary(session, r) for r in rows],
        "next_cursor": encode_cursor(rows[-1].id) if more else None,
    }


def _utc_bound(value: datetime) -> datetime:
    """A filter time in UTC, as times are stored (one without an offset is local time)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(get_settings().timezone))
    return value.astimezone(UTC)


@router.get("/{code:notice_code}", operation_id="get_notice", response_model=NoticeDetail)
def get_notice(
    code: Code,
    library: LibraryDep,
    session: SessionDep,
    principal: NoticesRead,
    request: Request,
    checks: Annotated[bool, Query(description="render and check every variant")] = True,
) -> dict[str, Any]:
    """A notice: its state, its content, what is still wrong, and every variant's checks."""
    return detail(session, load(session, code, principal, request), library, checks=checks)


@router.put("/{code:notice_code}", operation_id="update_notice", response_model=NoticeDetail)
def update_notice(
    code: Code,
    raw: NoticeBody,
    library: LibraryDep,
    session: SessionDep,
    principal: NoticesWrite,
    request: Request,
    incomplete: Incomplete = False,
) -> dict[str, Any]:
    """Replace an unsent notice's content; a submitted or approved one goes back to draft."""
    record = load(session, code, principal, request)
    refuse_test_key_for(session, principal, request, str(raw.get("mode", "actual")))
    drafts.update_draft(session, record, raw, library, actor_of(principal), complete=not incomplete)
    body = detail(session, record, library)
    session.commit()
    return body


@router.post(
    "/{code:notice_code}/submit", operation_id="submit_notice", response_model=NoticeSummary
)
def submit_notice(
    code: Code,
    library: LibraryDep,
    session: SessionDep,
    principal: NoticesWrite,
    request: Request,
    idempotent: Idempotent,
) -> Response:
    """Ask for approval; the notice must be complete (every problem fixed)."""
    record = load(session, code, principal, request)

    def work() -> Response:
        drafts.submit(session, record, library, actor_of(principal))
        return json_response(_summary(session, record))

    return idempotent.run(session, principal, work)


@router.post(
    "/{code:notice_code}/approve",
    operation_id="approve_notice",
    response_model=ApprovalOut,
    responses={403: {"description": "four eyes: the caller wrote or last edited this alert"}},
)
def approve_notice(
    code: Code,
    library: LibraryDep,
    session: SessionDep,
    principal: NoticesApprove,
    request: Request,
    idempotent: Idempotent,
    body: ApproveBody = ApproveIn(),  # noqa: B008
) -> Response:
    """Approve as it is now (four eyes: not an actual alert the same key or person wrote).

    Returns the fingerprint and what sending will do. Failed checks must be accepted.
    """
    record = load(session, code, principal, request)

    def work() -> Response:
        seen = approval.approve(
            session,
            record,
            library,
            get_settings(),
            actor_of(principal),
            accept_failed_checks=body.accept_failed_checks,
        )
        out = ApprovalOut(
            notice=NoticeSummary.model_validate(_summary(session, record)),
            fingerprint=seen.fingerprint,
            impact=asdict(seen.impact),
        )
        return json_response(out.model_dump(mode="json"))

    return idempotent.run(session, principal, work)


@router.post("/{code:notice_code}/send", operation_id="send_notice", response_model=SendingOut)
def send_notice(
    code: Code,
    library: LibraryDep,
    session: SessionDep,
    principal: NoticesSend,
    request: Request,
    idempotent: Idempotent,
    body: SendBody = SendIn(),  # noqa: B008
) -> Response:
    """Send an approved notice now or at a time (exercise and test notices need no approval).

    Sent once, whatever is retried: the same Idempotency-Key answers as the first time, and a
    notice already sent is a 409.
    """
    record = load(session, code, principal, request)

    def work() -> Response:
        if principal.is_test:
            record.outbox_only = True  # a test key's notice reaches the outbox transports only
        done = sending.send(
            session,
            record,
            library,
            get_settings(),
            actor_of(principal),
            at=body.at,
            repeat=body.repeat,
        )
        out = SendingOut(code=done.code, state=NoticeState(done.status), send_at=done.send_at)
        return json_response(out.model_dump(mode="json"))

    return idempotent.run(session, principal, work)


@router.post(
    "/{code:notice_code}/cancel", operation_id="cancel_notice", response_model=NoticeSummary
)
def cancel_notice(
    code: Code,
    session: SessionDep,
    principal: NoticesWrite,
    request: Request,
    idempotent: Idempotent,
) -> Response:
    """Call off a notice that was not sent (a scheduled one included).

    A sent notice is cancelled by a follow-up with message_type `cancel`.
    """
    record = load(session, code, principal, request)

    def work() -> Response:
        if record.status == NoticeState.sent:
            raise WrongState(
                f"{record.code} was sent; to withdraw it from the people it reached, create a "
                f"follow-up: POST /api/v1/notices/{record.code}/follow-ups with message_type cancel"
            )
        drafts.discard(session, record, actor_of(principal))
        return json_response(_summary(session, record))

    return idempotent.run(session, principal, work)


@router.post(
    "/{code:notice_code}/follow-ups",
    operation_id="create_follow_up",
    status_code=201,
    response_model=NoticeDetail,
    responses=CREATED,
)
def create_follow_up(
    code: Code,
    body: Annotated[FollowUpIn, Body(examples=[{"message_type": "all_clear"}])],
    library: LibraryDep,
    session: SessionDep,
    principal: NoticesWrite,
    request: Request,
    idempotent: Idempotent,
) -> Response:
    """Start an update, all-clear or cancel of a sent notice: a draft that references it.

    It starts from the sent notice's content; edit it (PUT), then approve and send it.
    """
    record = load(session, code, principal, request)

    def work() -> Response:
        draft = drafts.follow_up(session, record, body.message_type, actor_of(principal))
        out = detail(session, draft, library, checks=False)
        return json_response(out, 201, location=f"/api/v1/notices/{draft.code}")

    return idempotent.run(session, principal, work)
