"""REST routes for scheduled test broadcasts: schedules, rules' fire times, the calendar.

The same permissions as sending: changing a schedule needs notices:send; reading schedules,
fire times and the calendar needs reports:read. Schedules send only exercise and test notices,
so a test key may use them too. Exercise runs and reports are in `run_views`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import AwareDatetime, BaseModel, Field
from sqlalchemy.orm import Session

from service.accounts.permissions import PROTECTED_RESPONSES, NoticesSend, Public, ReportsRead
from service.accounts.principal import Principal
from service.api.deps import LibraryDep, SessionDep
from service.api.idempotency import Idempotent, json_response
from service.api.problems import located, problem_response
from service.clock import utcnow
from service.config import Settings, get_settings
from service.content import ContentLibrary
from service.exercises.calendar import calendar_ics
from service.exercises.models import ScheduleRecord
from service.exercises.rules import RuleInvalid, next_fire_times, parse_rule
from service.exercises.schedules import (
    NAME_MAX_LENGTH,
    ChecksFailed,
    NewSchedule,
    ScheduleInvalid,
    add_schedule,
    find_schedule,
    list_schedules,
    pause_schedule,
    remove_schedule,
    resume_schedule,
)
from service.notices.links import public_base_url

router = APIRouter(prefix="/api/v1", tags=["exercises"], responses=PROTECTED_RESPONSES)
public_router = APIRouter(tags=["exercises"])
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "no schedule by that id/name"}}
MAX_COUNT = 100
Ref = Annotated[str, Path(max_length=NAME_MAX_LENGTH, description="id or name")]
Count = Annotated[int, Query(ge=1, le=MAX_COUNT, description="how many fire times")]
ICS = "text/calendar; charset=utf-8"
# The quarterly test notice (demo/exercises/quarterly_test.json), shortened to Swedish.
SCHEDULE_EXAMPLE: dict[str, Any] = {
    "name": "Kvartalsprov",
    "rule": "vma-quarterly",
    "grace_seconds": 3600,
    "allow_failed_checks": False,
    "notice": {
        "scenario": "general",
        "message_type": "alert",
        "mode": "test",
        "severity": "minor",
        "urgency": "unknown",
        "certainty": "unknown",
        "areas": ["vasteras"],
        "fields": {
            "headline": {"sv": "Prov av kommunens krismeddelanden"},
            "message": {"sv": "Vi provar att kommunens krismeddelanden når fram."},
            "sms": {"sv": "Vi provar att kommunens krismeddelanden når fram."},
        },
        "contact": {"phone": "021-39 00 00", "web": "https://www.vasteras.se/kris"},
        "audiences": ["general-public"],
        "languages": ["sv"],
        "channels": ["sms", "email", "web"],
    },
}


class ScheduleIn(BaseModel):
    """A schedule: a rule (vma-quarterly or cron) or one time, and the test notice it sends."""

    name: str = Field(max_length=NAME_MAX_LENGTH)
    rule: str | None = Field(None, max_length=200, examples=["vma-quarterly"])
    at: AwareDatetime | None = None
    grace_seconds: int | None = Field(None, ge=0, le=7 * 24 * 3600)
    allow_failed_checks: bool = False
    notice: dict[str, Any] = Field(description="the exercise or test alert, as a notice file")

    model_config = {"json_schema_extra": {"examples": [SCHEDULE_EXAMPLE]}}


class ScheduleOut(BaseModel):
    """A schedule and its next fire times."""

    id: int
    name: str
    kind: str
    rule: str | None
    status: str
    grace_seconds: int
    next_fire_at: datetime | None
    next_fire_times: list[datetime]
    mode: str | None
    scenario: str | None
    created_by: str


def _local(moment: datetime, settings: Settings) -> datetime:
    from zoneinfo import ZoneInfo

    aware = moment if moment.tzinfo else moment.replace(tzinfo=ZoneInfo("UTC"))
    return aware.astimezone(ZoneInfo(settings.timezone))


def schedule_out(schedule: ScheduleRecord, settings: Settings, count: int = 5) -> ScheduleOut:
    """The schedule as the API shows it, its times in the service's time zone."""
    times: list[datetime] = []
    if schedule.next_fire_at is not None and schedule.status == "active":
        first = _local(schedule.next_fire_at, settings)
        times = [first]
        if schedule.rule:
            rule = parse_rule(schedule.rule, settings.timezone)
            times += next_fire_times(rule, first, count - 1) if count > 1 else []
    return ScheduleOut(
        id=schedule.id,
        name=schedule.name,
        kind=schedule.kind,
        rule=schedule.rule,
        status=schedule.status,
        grace_seconds=schedule.grace_seconds,
        next_fire_at=_local(schedule.next_fire_at, settings) if schedule.next_fire_at else None,
        next_fire_times=[_local(t, settings) for t in times[:count]],
        mode=schedule.payload.get("mode"),
        scenario=schedule.payload.get("scenario"),
        created_by=schedule.created_by,
    )


def _missing(ref: str) -> JSONResponse:
    return problem_response(404, "not-found", "No such schedule", f"no schedule has id/name {ref}")


def find_listed(session: Session, ref: str) -> ScheduleRecord | None:
    """A schedule by id or name; an exercise's injects are reached through their run."""
    found = find_schedule(session, ref)
    return None if found is None or found.kind == "inject" else found


@router.get("/schedules", operation_id="schedule_list")
def schedules(
    session: SessionDep,
    _principal: ReportsRead,
    include_finished: bool = False,
    count: Count = 3,
) -> list[ScheduleOut]:
    """Schedules in the order they next fire, each with its next fire times."""
    settings = get_settings()
    rows = list_schedules(session, include_finished=include_finished)
    return [schedule_out(s, settings, count) for s in rows]


@router.post(
    "/schedules",
    operation_id="schedule_add",
    status_code=201,
    response_model=ScheduleOut,
    responses={422: {"description": "every problem, or the failed checks"}},
)
def add(
    body: ScheduleIn,
    session: SessionDep,
    library: LibraryDep,
    principal: NoticesSend,
    idempotent: Idempotent,
) -> Response:
    """Add a schedule; the notice must be an exercise or test alert that passes its checks."""
    return idempotent.run(session, principal, lambda: _add(body, session, library, principal))


def _add(
    body: ScheduleIn, session: Session, library: ContentLibrary, principal: Principal
) -> Response:
    settings = get_settings()
    new = NewSchedule(
        body.name, body.notice, body.rule, body.at, body.grace_seconds, body.allow_failed_checks
    )
    try:
        schedule = add_schedule(
            session, library, settings, new, actor=principal.actor, source=principal.source
        )
    except ScheduleInvalid as exc:
        detail = f"schedule {body.name!r} was not added: {len(exc.problems)} problem(s)"
        return problem_response(
            422, "schedule-invalid", "Invalid schedule", detail, problems=located(exc.problems)
        )
    except ChecksFailed as exc:
        detail = "a variant fails its checks: fix it, or set allow_failed_checks"
        problems = [{"location": "notice", "message": f} for f in exc.failures]
        return problem_response(422, "checks-failed", "Checks failed", detail, problems=problems)
    out = schedule_out(schedule, settings)
    return json_response(out, 201, location=f"/api/v1/schedules/{schedule.id}")


@router.get(
    "/schedules/{ref}", operation_id="schedule_get", response_model=ScheduleOut, responses=NOT_FOUND
)
def get_schedule(
    ref: Ref, session: SessionDep, _principal: ReportsRead, count: Count = 10
) -> ScheduleOut | JSONResponse:
    """One schedule with its next `count` fire times."""
    found = find_listed(session, ref)
    return _missing(ref) if found is None else schedule_out(found, get_settings(), count)


def _change(
    session: Session, ref: str, action: str, principal: Principal
) -> ScheduleOut | JSONResponse:
    found = find_listed(session, ref)
    if found is None:
        return _missing(ref)
    settings = get_settings()
    if action == "pause":
        changed = pause_schedule(session, found, actor=principal.actor, source=principal.source)
    elif action == "resume":
        changed = resume_schedule(
            session, found, settings, actor=principal.actor, source=principal.source
        )
    else:
        changed = remove_schedule(session, found, actor=principal.actor, source=principal.source)
    if not changed:
        return problem_response(
            409, "wrong-state", "Not possible now", f"schedule {found.name!r} is {found.status}"
        )
    return schedule_out(found, settings)


@router.post(
    "/schedules/{ref}/pause",
    operation_id="schedule_pause",
    response_model=ScheduleOut,
    responses={**NOT_FOUND, 409: {"description": "not active"}},
)
def pause(ref: Ref, session: SessionDep, principal: NoticesSend) -> ScheduleOut | JSONResponse:
    """Stop firing until resumed."""
    return _change(session, ref, "pause", principal)


@router.post(
    "/schedules/{ref}/resume",
    operation_id="schedule_resume",
    response_model=ScheduleOut,
    responses={**NOT_FOUND, 409: {"description": "not paused"}},
)
def resume(ref: Ref, session: SessionDep, principal: NoticesSend) -> ScheduleOut | JSONResponse:
    """Fire again from now on (a rule skips the times that passed meanwhile)."""
    return _change(session, ref, "resume", principal)


@router.delete(
    "/schedules/{ref}",
    operation_id="schedule_remove",
    response_model=ScheduleOut,
    responses={**NOT_FOUND, 409: {"description": "already removed"}},
)
def remove(ref: Ref, session: SessionDep, principal: NoticesSend) -> ScheduleOut | JSONResponse:
    """Stop a schedule for good (kept with its firings for the reports)."""
    return _change(session, ref, "remove", principal)


@router.get(
    "/schedule-rules/next",
    operation_id="schedule_rule_next",
    response_model=list[datetime],
    responses={422: {"description": "not a rule"}},
)
def rule_next(
    _principal: ReportsRead,
    rule: Annotated[str, Query(max_length=200, examples=["vma-quarterly"])],
    count: Count = 5,
    after: AwareDatetime | None = None,
) -> list[datetime] | JSONResponse:
    """A rule's next fire times (ISO 8601 with offset), as `klarvarsel schedules next`."""
    settings = get_settings()
    try:
        parsed = parse_rule(rule, settings.timezone)
    except RuleInvalid as exc:
        return problem_response(422, "rule-invalid", "Not a rule", f"rule: {exc}")
    return [_local(t, settings) for t in next_fire_times(parsed, after or utcnow(), count)]


def calendar_token(settings: Settings) -> str:
    """The secret part of the calendar's capability URL (changes with the secret key)."""
    digest = hmac.new(settings.secret_key.encode(), b"calendar.ics", hashlib.sha256)
    return digest.hexdigest()[:32]


def _ics(session: Session, months: int) -> Response:
    data = calendar_ics(session, get_settings(), months=months)
    return Response(data, media_type=ICS, headers={"Cache-Control": "private, max-age=300"})


Months = Annotated[int, Query(ge=1, le=36, description="how far ahead, in months")]
ICS_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/calendar": {}}, "description": "iCalendar"}
}


@router.get(
    "/calendar.ics", operation_id="calendar_ics", response_class=Response, responses=ICS_RESPONSE
)
def calendar(session: SessionDep, _principal: ReportsRead, months: Months = 12) -> Response:
    """Upcoming tests and injects as an .ics calendar (key-authenticated)."""
    return _ics(session, months)


@router.get("/calendar", operation_id="calendar_subscription")
def calendar_subscription(_principal: ReportsRead) -> dict[str, str]:
    """The calendar's capability URL, for calendar apps that cannot send a key."""
    settings = get_settings()
    return {"url": f"{public_base_url(settings)}/calendar/{calendar_token(settings)}.ics"}


@public_router.get(
    "/calendar/{token}.ics",
    operation_id="calendar_ics_by_capability",
    response_class=Response,
    responses={**ICS_RESPONSE, 404: {"description": "not the calendar's address"}},
)
def calendar_by_capability(
    token: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    _open: Public,
    months: Months = 12,
) -> Response:
    """The calendar at its secret address (from GET /api/v1/calendar); no key needed."""
    if not hmac.compare_digest(token, calendar_token(get_settings())):
        return problem_response(404, "not-found", "Not found", "no calendar at this address")
    return _ics(session, months)
