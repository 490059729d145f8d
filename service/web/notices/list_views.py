"""The notices list: every notice with its state, mode, author, approver and times."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from service.api.deps import LibraryDep, SessionDep
from service.notices.models import NoticeRecord
from service.web.layout import render_staff, staff_language
from service.web.notices.deps import Reader
from service.web.notices.display import MODES, STATES, local_time, scenario_title

router = APIRouter(tags=["pages"])
LIST_LIMIT = 200


@router.get(
    "/notices", response_class=HTMLResponse, include_in_schema=False, operation_id="notices_page"
)
def notices_page(
    request: Request, principal: Reader, session: SessionDep, library: LibraryDep
) -> HTMLResponse:
    """Every notice, newest first, filtered by state and mode."""
    state = request.query_params.get("state", "")
    mode = request.query_params.get("mode", "")
    query = sa.select(NoticeRecord).order_by(NoticeRecord.created_at.desc(), NoticeRecord.id.desc())
    if state in STATES:
        query = query.where(NoticeRecord.status == state)
    if mode in MODES:
        query = query.where(NoticeRecord.mode == mode)
    records = session.scalars(query.limit(LIST_LIMIT + 1)).all()
    language = staff_language(request)
    rows = [
        {
            "code": r.code,
            "title": scenario_title(library, r.scenario, language),
            "message_type": r.message_type,
            "mode": r.mode,
            "status": r.status,
            "created_by": r.created_by,
            "approved_by": r.approved_by or "",
            "created_at": local_time(r.created_at, language, library.timezone),
            "approved_at": local_time(r.approved_at, language, library.timezone),
            "sent_at": local_time(r.sent_at, language, library.timezone),
            "send_at": local_time(r.send_at, language, library.timezone),
        }
        for r in records[:LIST_LIMIT]
    ]
    return render_staff(
        request,
        principal,
        "notices_list.html",
        rows=rows,
        more=len(records) > LIST_LIMIT,
        state=state if state in STATES else "",
        mode=mode if mode in MODES else "",
        states=STATES,
        modes=MODES,
    )
