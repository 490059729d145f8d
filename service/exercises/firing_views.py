"""REST route listing a schedule's firings: each fire time and what became of it.

Reading needs reports:read, as the reports do. A firing is on time (sent at most a minute
late), late (sent later, within the grace time), missed (outside it, or superseded), failed
(the notice was refused when it fired) or sending (being planned right now).
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from service.accounts.permissions import PROTECTED_RESPONSES, ReportsRead
from service.api.deps import SessionDep
from service.api.errors import query_problem
from service.api.problems import problem_response
from service.clock import as_utc
from service.config import get_settings
from service.exercises.misfire import PUNCTUAL_SECONDS
from service.exercises.models import FiringRecord, FiringStatus
from service.exercises.schedules import NAME_MAX_LENGTH
from service.exercises.views import find_listed
from service.notices.models import NoticeRecord
from service.workflow.api_schemas import PAGE_MAX, BadCursor, decode_cursor, encode_cursor

router = APIRouter(prefix="/api/v1", tags=["exercises"], responses=PROTECTED_RESPONSES)


class Timing(StrEnum):
    """What became of a fire time, as the reports say it."""

    on_time = "on_time"
    late = "late"
    missed = "missed"
    failed = "failed"
    sending = "sending"


class FiringOut(BaseModel):
    """One fire time of a schedule and what became of it."""

    id: int
    fire_time: datetime = Field(description="as scheduled, in the service's time zone")
    status: FiringStatus
    timing: Timing
    late_seconds: float
    handled_at: datetime
    notice_code: str | None = Field(description="the notice it published, if any")
    planned: int | None = Field(description="deliveries planned")
    reason: str | None = Field(description="why it was missed or failed")
    report_url: str = Field(description="the report page (HTML with charts, CSV and PDF)")


class FiringPage(BaseModel):
    """One page of a schedule's firings, newest fire time first."""

    items: list[FiringOut]
    next_cursor: str | None


def timing_of(firing: FiringRecord) -> Timing:
    """On time, late, missed, failed or sending."""
    if firing.status == FiringStatus.sent.value:
        return Timing.late if firing.late_seconds > PUNCTUAL_SECONDS else Timing.on_time
    return Timing(firing.status)


def _timing_filter(timing: Timing) -> sa.ColumnElement[bool]:
    sent = FiringRecord.status == FiringStatus.sent.value
    if timing == Timing.on_time:
        return sa.and_(sent, FiringRecord.late_seconds <= PUNCTUAL_SECONDS)
    if timing == Timing.late:
        return sa.and_(sent, FiringRecord.late_seconds > PUNCTUAL_SECONDS)
    return FiringRecord.status == timing.value


def _bound(value: datetime) -> datetime:
    return as_utc(value)


def _out(firing: FiringRecord, code: str | None, zone: ZoneInfo) -> FiringOut:
    return FiringOut(
        id=firing.id,
        fire_time=as_utc(firing.fire_time).astimezone(zone),
        status=FiringStatus(firing.status),
        timing=timing_of(firing),
        late_seconds=firing.late_seconds,
        handled_at=as_utc(firing.handled_at).astimezone(zone),
        notice_code=code,
        planned=firing.planned,
        reason=firing.reason,
        report_url=f"/exercises/reports/firings/{firing.id}",
    )


def _after(session: Session, cursor: str, schedule_id: int) -> FiringRecord:
    try:
        last = session.get(FiringRecord, decode_cursor(cursor))
    except BadCursor as exc:
        raise query_problem("cursor", str(exc)) from None
    if last is None or last.schedule_id != schedule_id:
        raise query_problem("cursor", "is not a cursor of this schedule's firings")
    return last


@router.get(
    "/schedules/{ref}/firings",
    operation_id="schedule_firings",
    response_model=FiringPage,
    responses={404: {"description": "no schedule by that id/name"}},
)
def firings(
    ref: Annotated[str, Path(max_length=NAME_MAX_LENGTH, description="id or name")],
    session: SessionDep,
    _principal: ReportsRead,
    timing: Timing | None = None,
    fired_from: Annotated[AwareDatetime | None, Query(description="fire time at or after")] = None,
    fired_to: Annotated[AwareDatetime | None, Query(description="fire time before")] = None,
    limit: Annotated[int, Query(ge=1, le=PAGE_MAX)] = 50,
    cursor: Annotated[str | None, Query(max_length=200, description="a page's next_cursor")] = None,
) -> dict[str, Any] | JSONResponse:
    """A schedule's fire times, newest first: on time, late (by how much), missed or failed."""
    schedule = find_listed(session, ref)
    if schedule is None:
        return problem_response(
            404, "not-found", "No such schedule", f"no schedule has id/name {ref}"
        )
    # (schedule, fire time) is unique, so the fire time alone orders a schedule's firings.
    query = (
        sa.select(FiringRecord, NoticeRecord.code)
        .outerjoin(NoticeRecord, NoticeRecord.id == FiringRecord.notice_id)
        .where(FiringRecord.schedule_id == schedule.id)
        .order_by(FiringRecord.fire_time.desc())
        .limit(limit + 1)
    )
    if cursor is not None:
        query = query.where(FiringRecord.fire_time < _after(session, cursor, schedule.id).fire_time)
    if timing is not None:
        query = query.where(_timing_filter(timing))
    if fired_from is not None:
        query = query.where(FiringRecord.fire_time >= _bound(fired_from))
    if fired_to is not None:
        query = query.where(FiringRecord.fire_time < _bound(fired_to))
    rows = session.execute(query).all()
    more = len(rows) > limit
    rows = rows[:limit]
    zone = ZoneInfo(get_settings().timezone)
    return {
        "items": [_out(firing, code, zone) for firing, code in rows],
        "next_cursor": encode_cursor(rows[-1][0].id) if more else None,
    }
