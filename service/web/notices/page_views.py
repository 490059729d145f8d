"""The notice's own page: state, thread, actions; after sending, live progress and follow-up.

Progress needs reports:read (the not-reached list holds phone numbers): others see the state
only. The live part is the delivery API's server-sent events (`/api/v1/notices/{code}/
progress/stream`), which the page's script follows by reloading the progress fragment; without
JavaScript a link reloads the page.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from service.accounts.roles import Scope
from service.api.deps import LibraryDep, SessionDep
from service.channels.print.pack import build_print_pack
from service.config import get_settings
from service.content import ContentLibrary
from service.delivery.models import Delivery
from service.delivery.requeue import retry_refused
from service.delivery.tracking import not_reached, progress
from service.notices.links import notice_url
from service.notices.models import NoticeRecord
from service.notices.publish import load_stored_notice, thread_of
from service.web.layout import render_staff, staff_language
from service.web.notices.chart import deliveries_chart
from service.web.notices.deps import Reader, Reporter, notice_or_404
from service.web.notices.display import in_language, local_time, scenario_title

router = APIRouter(tags=["pages"])
FINISHED = ("sent", "delivered", "failed", "cancelled")
TIMES = (
    "created_at",
    "updated_at",
    "submitted_at",
    "approved_at",
    "send_at",
    "sent_at",
    "cancelled_at",
)


def _timeline(session: Session, notice_id: int) -> list[tuple[datetime, int]]:
    rows = session.execute(
        sa.select(Delivery.updated_at, sa.func.count())
        .where(Delivery.notice_id == notice_id, Delivery.status.in_(FINISHED))
        .group_by(Delivery.updated_at)
        .order_by(Delivery.updated_at)
    ).all()
    return [(t if t.tzinfo else t.replace(tzinfo=UTC), n) for t, n in rows]


def progress_context(
    session: Session, record: NoticeRecord, library: ContentLibrary, language: str
) -> dict[str, Any]:
    """Counts, chart and the people not reached, for the page and its live fragment."""
    counts = progress(session, record.id)
    data = counts.to_dict()
    # Sent but not planned yet (the releaser plans within a second): not done, though empty.
    data["done"] = counts.done and record.planned_at is not None
    finished = sum(data["overall"][s] for s in FINISHED)
    zone = library.timezone
    chart = deliveries_chart(
        "Deliveries over time" if language == "en" else "Utskick över tid",
        _timeline(session, record.id),
        counts.total,
        lambda moment: moment.astimezone(zone).strftime("%H:%M:%S"),
        start=record.sent_at.replace(tzinfo=record.sent_at.tzinfo or UTC)
        if record.sent_at
        else None,
    )
    names = {a.id: in_language(a.name, language, a.id) for a in library.audiences.values()}
    return {
        "progress": data,
        "finished": finished,
        "percent": round(100 * finished / counts.total) if counts.total else 0,
        "chart": chart,
        "not_reached": not_reached(session, record.id),
        "audience_names": names,
    }


def _print_audiences(
    record: NoticeRecord, library: ContentLibrary, language: str
) -> list[dict[str, str]]:
    payload = record.payload
    if "print" not in (payload.get("channels") or []):
        return []
    return [
        {"id": a, "name": in_language(library.audiences[a].name, language, a)}
        for a in payload.get("audiences") or []
        if a in library.audiences and "print" in library.audiences[a].channels
    ]


@router.get(
    "/notices/{code}",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="notice_page",
)
def notice_page(
    code: str, request: Request, principal: Reader, session: SessionDep, library: LibraryDep
) -> HTMLResponse:
    """The notice: what it is, where it is in its life, and what can be done with it."""
    record = notice_or_404(session, code)
    language = staff_language(request)
    zone = library.timezone
    first = session.get(NoticeRecord, record.references_id) if record.references_id else record
    thread = thread_of(session, first) if first is not None and first.status == "sent" else []
    context: dict[str, Any] = {
        "record": record,
        "title": scenario_title(library, record.scenario, language),
        "times": {name: local_time(getattr(record, name), language, zone) for name in TIMES},
        "thread": [
            {
                "code": n.code,
                "type": n.message_type,
                "sent": local_time(n.sent_at, language, zone),
            }
            for n in thread
        ],
        "areas": [
            library.areas.areas[a].name if a in library.areas.areas else a
            for a in record.payload.get("areas") or []
        ],
        "done": request.query_params.get("done", ""),
        "public_href": f"/n/{record.code}" if record.status == "sent" else "",
        "reports": principal.has(Scope.reports_read),
        "print_audiences": _print_audiences(record, library, language)
        if record.status == "sent"
        else [],
    }
    if record.status == "sent" and context["reports"]:
        context |= progress_context(session, record, library, language)
    # The button is not offered where retrying would re-queue nothing (the route refuses too).
    context["retry_refused"] = retry_refused(session, record) if record.status == "sent" else None
    return render_staff(request, principal, "notice.html", **context)


@router.get(
    "/notices/{code}/progress",
    response_class=HTMLResponse,
    include_in_schema=False,
    operation_id="notice_progress_fragment",
)
def progress_fragment(
    code: str, request: Request, principal: Reporter, session: SessionDep, library: LibraryDep
) -> HTMLResponse:
    """The progress part of the notice page (the page's script swaps it in live)."""
    record = notice_or_404(session, code)
    context = progress_context(session, record, library, staff_language(request))
    return render_staff(request, principal, "progress.html", record=record, **context)


@router.get(
    "/notices/{code}/print-pack.pdf", include_in_schema=False, operation_id="notice_print_pack"
)
def print_pack(
    code: str, request: Request, principal: Reader, session: SessionDep, library: LibraryDep
) -> Response:
    """Every language of a sent notice for one audience, in one PDF to print and hand out."""
    del principal
    record = notice_or_404(session, code)
    audience = request.query_params.get("audience", "")
    if record.status != "sent" or audience not in library.audiences:
        raise HTTPException(404, "the notice has no print pack for this audience")
    notice = load_stored_notice(record, library)
    try:
        pdf = build_print_pack(
            notice, library, audience, public_url=notice_url(get_settings(), record.code)
        )
    except ValueError as exc:
        raise HTTPException(409, str(exc)) from None
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{record.code}-{audience}.pdf"'},
    )
