"""REST routes for a notice's deliveries: progress, not reached, reports, retrying failures.

Retrying needs notices:send, as sending does, and takes an Idempotency-Key. Every other route
needs reports:read (a key with it, or a signed-in approver, viewer or admin): the
not-reached list and the reports hold names and contact details. A test key sees only
exercise and test notices.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from service.accounts.permissions import (
    PROTECTED_RESPONSES,
    NoticesSend,
    ReportsRead,
    refuse_test_key_for,
)
from service.accounts.principal import Principal
from service.api.deps import SessionDep
from service.api.idempotency import Idempotent, json_response
from service.config import get_settings
from service.delivery.requeue import retry_failed
from service.delivery.tracking import Progress, not_reached, progress, report_csv
from service.notices.models import NoticeRecord
from service.notices.publish import find_by_code

router = APIRouter(prefix="/api/v1/notices", tags=["deliveries"], responses=PROTECTED_RESPONSES)

STREAM_INTERVAL_SECONDS = 1.0
KEEPALIVE_SECONDS = 15.0
# A stream opened before planning has written its first row waits this long for one.
EMPTY_GRACE_SECONDS = 10.0
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no notice has this code"}}


class StatusCounts(BaseModel):
    """Deliveries per status."""

    planned: int
    sending: int
    sent: int
    delivered: int
    failed: int
    cancelled: int
    total: int


class ProgressOut(BaseModel):
    """A notice's delivery progress; `done` when nothing is waiting or in flight."""

    code: str
    total: int
    done: bool
    unreachable: int
    possible_duplicates: int = Field(
        description="deliveries taken over after a worker's lease expired mid-send: each may "
        "have reached its person twice (an upper bound)"
    )
    overall: StatusCounts
    by_channel: dict[str, StatusCounts]
    by_language: dict[str, StatusCounts]
    by_audience: dict[str, StatusCounts]
    waiting: dict[str, datetime] = Field(
        default_factory=dict,
        description="channels whose provider is failing while deliveries wait for it, with the "
        "time the outage began (deliveries wait until their deadline instead of failing)",
    )


class NotReachedOut(BaseModel):
    """Someone to phone, with the reason no message reached them."""

    recipient_id: int | None
    name: str
    phone: str | None
    email: str | None
    language: str
    audience: str
    reason: str


def _notice(session: Session, code: str, principal: Principal, request: Request) -> NoticeRecord:
    record = find_by_code(session, code)
    if record is None:
        raise HTTPException(404, f"no notice has the code {code!r}")
    refuse_test_key_for(session, principal, request, record.mode)
    return record


def _progress_dict(record: NoticeRecord, counts: Progress) -> dict[str, Any]:
    return {"code": record.code, **counts.to_dict()}


@router.get("/{code}/progress", operation_id="notice_progress", responses=NOT_FOUND)
def get_progress(
    code: str, session: SessionDep, principal: ReportsRead, request: Request
) -> ProgressOut:
    """Deliveries per status, overall and by channel, language and audience."""
    record = _notice(session, code, principal, request)
    return ProgressOut.model_validate(_progress_dict(record, progress(session, record.id)))


def _event(name: str, data: dict[str, Any]) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def progress_events(
    session: Session, record: NoticeRecord, interval: float = STREAM_INTERVAL_SECONDS
) -> AsyncIterator[str]:
    """`progress` events whenever the counts change, then `done` once every delivery is final."""
    notice_id = record.id
    started = last_sent = time.monotonic()
    previous: dict[str, Any] | None = None

    def read() -> Progress:
        try:
            return progress(session, notice_id)
        finally:
            # Ends the transaction (a fresh snapshot next time) and frees the connection
            # between polls, so a hundred open dashboards do not hold a hundred connections.
            session.close()

    while True:
        counts = await run_in_threadpool(read)
        data = _progress_dict(record, counts)
        if data != previous:
            yield _event("progress", data)
            previous, last_sent = data, time.monotonic()
        elif time.monotonic() - last_sent > KEEPALIVE_SECONDS:
            yield ": keep-alive\n\n"  # a comment: proxies must not close an idle stream
            last_sent = time.monotonic()
        # A notice with no deliveries yet may still be planned (right after a send): give it a
        # grace period; an empty one after that has nothing to wait for, planned or not.
        empty_for_long = not counts.total and time.monotonic() - started > EMPTY_GRACE_SECONDS
        if (counts.done and counts.total) or empty_for_long:
            # Tells the browser's EventSource not to reconnect.
            yield _event("done", data)
            return
        await asyncio.sleep(interval)


@router.get(
    "/{code}/progress/stream",
    operation_id="notice_progress_stream",
    response_class=StreamingResponse,
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
        **NOT_FOUND,
    },
)
def stream_progress(
    code: str, session: SessionDep, principal: ReportsRead, request: Request
) -> StreamingResponse:
    """Live progress as server-sent events (`progress`, then `done` when all are final)."""
    record = _notice(session, code, principal, request)
    return StreamingResponse(
        progress_events(session, record),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


@router.get("/{code}/not-reached", operation_id="notice_not_reached", responses=NOT_FOUND)
def get_not_reached(
    code: str, session: SessionDep, principal: ReportsRead, request: Request
) -> list[NotReachedOut]:
    """People to phone: every delivery failed, or no channel could reach them."""
    record = _notice(session, code, principal, request)
    return [NotReachedOut.model_validate(p.to_dict()) for p in not_reached(session, record.id)]


@router.get(
    "/{code}/report.csv",
    operation_id="notice_delivery_report_csv",
    response_class=Response,
    responses={
        200: {"content": {"text/csv": {}}, "description": "UTF-8 with BOM, `;`"},
        **NOT_FOUND,
    },
)
def get_report_csv(
    code: str, session: SessionDep, principal: ReportsRead, request: Request
) -> Response:
    """Every delivery of the notice as CSV for Excel (names shown, addresses masked)."""
    record = _notice(session, code, principal, request)
    data = report_csv(session, record.id, timezone=get_settings().timezone)
    return Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="deliveries-{record.code}.csv"'},
    )


@router.get(
    "/{code}/report.pdf",
    operation_id="notice_delivery_report_pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "tagged PDF"}, **NOT_FOUND},
)
def get_report_pdf(
    code: str, session: SessionDep, principal: ReportsRead, request: Request
) -> Response:
    """The delivery report as PDF: progress, and the people not reached with contact details."""
    from service.delivery.report_pdf import report_pdf

    record = _notice(session, code, principal, request)
    data = report_pdf(session, record, timezone=get_settings().timezone)
    return Response(
        data,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="deliveries-{record.code}.pdf"'},
    )


class RetryOut(BaseModel):
    """How many failed deliveries were planned again (0: nothing retrying could mend)."""

    code: str
    requeued: int = Field(
        description="deliveries that gave up at their deadline or that the provider reported "
        "undelivered, now planned again (one per person; never for someone already reached)"
    )


@router.post(
    "/{code}/retry",
    operation_id="retry_notice_deliveries",
    response_model=RetryOut,
    responses={
        **NOT_FOUND,
        409: {"description": "the notice was not sent, or the Idempotency-Key is still running"},
    },
)
def retry_deliveries(
    code: str,
    session: SessionDep,
    principal: NoticesSend,
    request: Request,
    idempotent: Idempotent,
) -> Response:
    """Send again the notice's deliveries that failed for a reason retrying can mend.

    As `klarvarsel retry CODE`: after a long outage, or for phones that were off. Invalid
    numbers and opt-outs stay failed. Audited as deliveries.requeued with the caller.
    """
    record = _notice(session, code, principal, request)

    def work() -> Response:
        if record.status != "sent":
            raise HTTPException(409, f"{record.code} was not sent: it has no deliveries to retry")
        count = retry_failed(
            session,
            record,
            get_settings(),
            actor=principal.actor,
            source=principal.source,
        )
        return json_response(RetryOut(code=record.code, requeued=count).model_dump())

    return idempotent.run(session, principal, work)
