"""REST routes for exercise runs (start, pause, resume, move, cancel) and reports.

Starting and changing a run needs notices:send, reading runs and reports reports:read (the
reports name people not reached). Only the scripts shipped with the service can be started
over HTTP; a script folder on disk is the CLI's. Reports come as JSON, CSV or tagged PDF.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from service.accounts.permissions import (
    PROTECTED_RESPONSES,
    NoticesSend,
    ReportsRead,
    refuse_test_key_for,
)
from service.accounts.principal import Principal
from service.api.deps import LibraryDep, SessionDep
from service.api.idempotency import Idempotent, json_response
from service.api.problems import located, problem_response
from service.clock import as_utc
from service.config import get_settings
from service.content import ContentLibrary
from service.exercises import report_render as render
from service.exercises.models import ExerciseRunRecord
from service.exercises.reports import broadcast_report, exercise_report, quarterly_trend
from service.exercises.runs import (
    MAX_SPEED,
    RunInvalid,
    cancel_run,
    injects_of,
    list_runs,
    move_run,
    pause_run,
    resume_run,
    start_run,
)
from service.exercises.scripts import ScriptInvalid, load_script, shipped_scripts
from service.exercises.views import find_listed
from service.notices.publish import find_by_code

router = APIRouter(prefix="/api/v1", tags=["exercises"], responses=PROTECTED_RESPONSES)
RunId = Annotated[int, Path(ge=1, le=2**31 - 1)]
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no exercise run by that id"}}
REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "text/csv": {}, "application/pdf": {}},
        "description": "the report as JSON, CSV (Excel) or tagged PDF",
    },
    404: {"description": "nothing to report on"},
}


class ReportFormat(StrEnum):
    """How a report is returned."""

    json = "json"
    csv = "csv"
    pdf = "pdf"


class RunIn(BaseModel):
    """Start a shipped script at T+0 (default now) at a speed (10 or 60 compress it)."""

    script: str = Field(max_length=100, examples=["county-exercise-day"])
    start_at: AwareDatetime | None = None
    speed: float = Field(1.0, gt=0, le=MAX_SPEED, strict=True)  # strict: true is not 1

    model_config = {
        "json_schema_extra": {
            "examples": [
                {"script": "county-exercise-day", "speed": 60},
                {"script": "county-exercise-day", "start_at": "2027-03-01T09:00:00+01:00"},
            ]
        }
    }


class MoveIn(BaseModel):
    """A new T+0, or a shift in seconds (negative: earlier); the gaps stay."""

    to: AwareDatetime | None = None
    by_seconds: float | None = Field(None, ge=-366 * 86400, le=366 * 86400, strict=True)

    model_config = {
        "json_schema_extra": {
            "examples": [{"by_seconds": 900}, {"to": "2027-03-01T10:00:00+01:00"}]
        }
    }


class InjectOut(BaseModel):
    """One inject of a run."""

    key: str | None
    status: str
    run_at: datetime | None
    offset_seconds: float | None


class RunOut(BaseModel):
    """An exercise run and its injects."""

    id: int
    script: str
    title: str
    status: str
    speed: float
    start_at: datetime
    paused_at: datetime | None
    created_by: str
    injects: list[InjectOut]
    report_url: str = Field(description="the report page (HTML with charts, CSV and PDF)")


def run_out(session: Session, run: ExerciseRunRecord) -> RunOut:
    """The run with its injects in script order."""
    injects = [
        InjectOut(
            key=i.inject_key,
            status=i.status,
            run_at=as_utc(i.run_at) if i.run_at else None,
            offset_seconds=i.offset_seconds,
        )
        for i in injects_of(session, run.id)
    ]
    return RunOut(
        id=run.id,
        script=run.script,
        title=run.title,
        status=run.status,
        speed=run.speed,
        start_at=as_utc(run.start_at),
        paused_at=as_utc(run.paused_at) if run.paused_at else None,
        created_by=run.created_by,
        injects=injects,
        report_url=f"/exercises/reports/runs/{run.id}",
    )


def _missing(run_id: int) -> JSONResponse:
    return problem_response(404, "not-found", "No such exercise", f"no exercise run {run_id}")


def _refused(exc: Exception) -> JSONResponse:
    return problem_response(409, "run-refused", "Not possible now", str(exc))


@router.get("/exercises/scripts", operation_id="exercise_scripts")
def scripts(_principal: ReportsRead) -> list[str]:
    """The ids of the scripts shipped with the service."""
    return shipped_scripts()


@router.get("/exercises", operation_id="exercise_list")
def runs(session: SessionDep, _principal: ReportsRead) -> list[RunOut]:
    """Every exercise run, newest first."""
    return [run_out(session, r) for r in list_runs(session)]


@router.post(
    "/exercises",
    operation_id="exercise_start",
    status_code=201,
    response_model=RunOut,
    responses={422: {"description": "unknown or invalid script, or a bad start"}},
)
def start(
    body: RunIn,
    session: SessionDep,
    library: LibraryDep,
    principal: NoticesSend,
    idempotent: Idempotent,
) -> Response:
    """Schedule every inject of a script; the scheduler sends each at T+0 + offset / speed."""
    return idempotent.run(session, principal, lambda: _start(body, session, library, principal))


def _start(
    body: RunIn, session: Session, library: ContentLibrary, principal: Principal
) -> Response:
    if body.script not in shipped_scripts():
        known = ", ".join(shipped_scripts())
        return problem_response(
            422, "script-unknown", "Unknown script", f"script: {body.script!r}; known: {known}"
        )
    try:
        script = load_script(body.script, library)
        run = start_run(
            session,
            script,
            get_settings(),
            start_at=body.start_at,
            speed=body.speed,
            actor=principal.actor,
            source=principal.source,
        )
    except ScriptInvalid as exc:
        return problem_response(
            422, "script-invalid", "Invalid script", str(exc), problems=located(exc.problems)
        )
    except RunInvalid as exc:
        return problem_response(422, "run-invalid", "Cannot start", str(exc))
    return json_response(run_out(session, run), 201, location=f"/api/v1/exercises/{run.id}")


@router.get(
    "/exercises/{run_id}", operation_id="exercise_get", response_model=RunOut, responses=NOT_FOUND
)
def get_run(run_id: RunId, session: SessionDep, _principal: ReportsRead) -> RunOut | JSONResponse:
    """One run and its injects."""
    run = session.get(ExerciseRunRecord, run_id)
    return _missing(run_id) if run is None else run_out(session, run)


def _change(
    session: Session, run_id: int, action: str, principal: Principal, **options: Any
) -> Any:
    run = session.get(ExerciseRunRecord, run_id)
    if run is None:
        return _missing(run_id)
    try:
        if action == "pause":
            changed = pause_run(session, run, actor=principal.actor, source=principal.source)
        elif action == "resume":
            changed = resume_run(session, run, actor=principal.actor, source=principal.source)
        elif action == "cancel":
            changed = cancel_run(session, run, actor=principal.actor, source=principal.source)
        else:
            move_run(session, run, actor=principal.actor, source=principal.source, **options)
            changed = True
    except RunInvalid as exc:
        return _refused(exc)
    if not changed:
        return _refused(ValueError(f"exercise {run.id} is {run.status}"))
    return run_out(session, run)


CHANGE: dict[int | str, dict[str, Any]] = {**NOT_FOUND, 409: {"description": "not in that state"}}


@router.post(
    "/exercises/{run_id}/pause", operation_id="exercise_pause", response_model=RunOut,
    responses=CHANGE,
)  # fmt: skip
def pause(run_id: RunId, session: SessionDep, principal: NoticesSend) -> Any:
    """Hold every inject not yet sent."""
    return _change(session, run_id, "pause", principal)


@router.post(
    "/exercises/{run_id}/resume", operation_id="exercise_resume", response_model=RunOut,
    responses=CHANGE,
)  # fmt: skip
def resume(run_id: RunId, session: SessionDep, principal: NoticesSend) -> Any:
    """Continue after a pause: the unsent injects move on by the time spent paused."""
    return _change(session, run_id, "resume", principal)


@router.post(
    "/exercises/{run_id}/move", operation_id="exercise_move", response_model=RunOut,
    responses=CHANGE,
)  # fmt: skip
def move(run_id: RunId, body: MoveIn, session: SessionDep, principal: NoticesSend) -> Any:
    """Move the whole run to a new T+0, or by a shift, keeping the gaps between injects."""
    by = timedelta(seconds=body.by_seconds) if body.by_seconds is not None else None
    return _change(session, run_id, "move", principal, to=body.to, by=by)


@router.post(
    "/exercises/{run_id}/cancel", operation_id="exercise_cancel", response_model=RunOut,
    responses=CHANGE,
)  # fmt: skip
def cancel(run_id: RunId, session: SessionDep, principal: NoticesSend) -> Any:
    """Stop the run: no further inject is sent."""
    return _change(session, run_id, "cancel", principal)


def plain(value: Any) -> Any:
    """A report's dataclasses as JSON-ready data (tuple keys joined with ': ')."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        data = {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        for name in ("late", "canary_alerts", "canary_summary"):
            if hasattr(type(value), name):
                data[name] = plain(getattr(value, name))
        return data
    if isinstance(value, dict):
        return {
            ": ".join(map(str, k)) if isinstance(k, tuple) else str(k): plain(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return jsonable_encoder(value)


def _answer(fmt: ReportFormat, title: str, html: str, csv: bytes, data: Any, name: str) -> Response:
    if fmt == ReportFormat.csv:
        return Response(
            csv,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    if fmt == ReportFormat.pdf:
        return Response(
            render.html_to_pdf(html, title=title),
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="{name}.pdf"'},
        )
    return JSONResponse({"title": title, **data})


Format = Annotated[ReportFormat, Query(alias="format")]


@router.get(
    "/exercises/{run_id}/report",
    operation_id="exercise_report",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
def run_report(
    run_id: RunId,
    session: SessionDep,
    library: LibraryDep,
    _principal: ReportsRead,
    fmt: Format = ReportFormat.json,
) -> Response:
    """An exercise run's report: each inject's timeline and figures, and the totals."""
    run = session.get(ExerciseRunRecord, run_id)
    if run is None:
        return _missing(run_id)
    settings = get_settings()
    built = exercise_report(session, library, settings, run, readability=fmt != ReportFormat.csv)
    data = {
        "report_url": f"/exercises/reports/runs/{run.id}",
        "run": run_out(session, run).model_dump(mode="json"),
        "injects": [
            {"key": s.inject_key, "status": s.status, "report": plain(r) if r else None}
            for s, r in built.injects
        ],
        "figures": plain(built.figures),
        "not_reached": plain(built.misses),
    }
    html = render.exercise_html(built, settings) if fmt == ReportFormat.pdf else ""
    csv = render.exercise_csv(built, settings)
    return _answer(fmt, render.exercise_title(built), html, csv, data, f"exercise-{run.id}")


def _broadcast(session: Session, target: str, library: ContentLibrary) -> Any:
    import sqlalchemy as sa

    from service.exercises.models import FiringRecord

    notice = find_by_code(session, target)
    if notice is not None:
        report = broadcast_report(session, library, get_settings(), notice=notice)
        return report, f"/exercises/reports/notices/{notice.code}"
    schedule = find_listed(session, target)
    if schedule is None:
        return None
    firing = session.scalar(
        sa.select(FiringRecord)
        .where(FiringRecord.schedule_id == schedule.id)
        .order_by(FiringRecord.fire_time.desc())
        .limit(1)
    )
    if firing is None:
        return None
    report = broadcast_report(session, library, get_settings(), firing=firing)
    return report, f"/exercises/reports/firings/{firing.id}"


@router.get(
    "/reports/broadcasts/{target}",
    operation_id="broadcast_report",
    response_class=Response,
    responses=REPORT_RESPONSES,
)
def broadcast(
    target: Annotated[str, Path(max_length=100, description="notice code, or schedule id/name")],
    session: SessionDep,
    library: LibraryDep,
    principal: ReportsRead,
    request: Request,
    fmt: Format = ReportFormat.json,
) -> Response:
    """A test broadcast's report: a notice by code, or a schedule's latest firing."""
    found = _broadcast(session, target, library)
    if found is None:
        detail = f"{target}: no notice with this code, nor a schedule that has fired"
        return problem_response(404, "not-found", "Nothing to report", detail)
    report, url = found
    # A test key sees only exercise and test notices: a real one's report names people.
    refuse_test_key_for(session, principal, request, report.mode)
    settings = get_settings()
    trend = quarterly_trend(session, settings.timezone, mode=report.mode)
    data = {"report_url": url, "report": plain(report), "trend": plain(trend)}
    title = render.broadcast_title(report)
    html = render.broadcast_html(report, trend, settings) if fmt == ReportFormat.pdf else ""
    csv = render.broadcast_csv(report, settings)
    return _answer(fmt, title, html, csv, data, f"broadcast-{report.code or 'schedule'}")
