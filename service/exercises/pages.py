"""The Schedules page: test broadcasts (rules, one-offs) and scripted exercises in the web app.

Reading needs reports:read (viewers, approvers); creating, pausing, resuming and removing a
schedule and running an exercise need notices:send, as sending does (approvers). The domain
functions are the ones the command line uses (service.exercises.schedules and .runs).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from service.accounts.admin_render import first, form_lists, render_admin, with_language
from service.accounts.page_permissions import PageNoticesSend, PageReportsRead
from service.accounts.pages import page_language
from service.accounts.principal import Principal
from service.accounts.roles import Scope
from service.api.deps import LibraryDep, SessionDep
from service.config import PROJECT_ROOT, get_settings
from service.exercises import runs as run_service
from service.exercises import schedules as service
from service.exercises.calendar_link import calendar_token
from service.exercises.canaries import list_canaries
from service.exercises.models import FiringRecord, ScheduleRecord
from service.exercises.rules import next_fire_times, parse_rule
from service.exercises.scripts import shipped_scripts
from service.notices.links import public_base_url

router = APIRouter(prefix="/exercises", include_in_schema=False)
EXAMPLE_NOTICE = PROJECT_ROOT / "demo" / "exercises" / "quarterly_test.json"
SPEEDS = (1, 10, 60)
RECENT_FIRINGS = 20
NOTICE_MAX = 12_000
Errors = list[dict[str, Any]]


def form_error(field: str, code: str, text: str = "") -> dict[str, Any]:
    """One error-summary entry (`code`: admin/messages.html; `text`: the service's words)."""
    return {"field": field, "code": code, "text": text, "params": {}}


def _example_notice() -> str:
    try:
        return EXAMPLE_NOTICE.read_text("utf-8")
    except OSError:
        return ""


def schedules_response(
    request: Request, session: Session, principal: Principal, **context: Any
) -> HTMLResponse:
    """The Schedules page (with `errors` and `run_form` when a form came back wrong)."""
    settings = get_settings()
    schedules = service.list_schedules(session)
    firings = session.execute(
        sa.select(FiringRecord, ScheduleRecord)
        .join(ScheduleRecord, ScheduleRecord.id == FiringRecord.schedule_id)
        .order_by(FiringRecord.fire_time.desc(), FiringRecord.id.desc())
        .limit(RECENT_FIRINGS)
    ).all()
    following = {}
    for schedule in schedules:
        if schedule.rule and schedule.next_fire_at is not None:
            rule = parse_rule(schedule.rule, settings.timezone)
            start = service.as_utc(schedule.next_fire_at)
            following[schedule.id] = [start, *next_fire_times(rule, start, 2)]
    context.setdefault("errors", [])
    context.setdefault("run_form", {"script": "", "speed": "1", "date": "", "time": ""})
    return render_admin(
        request,
        "exercises/schedules.html",
        principal,
        current="/exercises/schedules",
        schedules=schedules,
        following=following,
        firings=firings,
        runs=run_service.list_runs(session)[:20],
        scripts=shipped_scripts(),
        speeds=SPEEDS,
        canaries=list_canaries(session),
        may_send=principal.has(Scope.notices_send),
        calendar_url=public_base_url(settings)
        + f"/exercises/calendar/{calendar_token(principal.id)}.ics",
        done=request.query_params.get("done", "")[:20],
        **context,
    )


@router.get("/schedules", response_class=HTMLResponse)
def schedules_page(
    request: Request, principal: PageReportsRead, session: SessionDep
) -> HTMLResponse:
    """Schedules with their next fire times, recent firings with reports, exercise runs."""
    return schedules_response(request, session, principal)


def _new_page(request: Request, principal: Principal, **context: Any) -> HTMLResponse:
    context.setdefault("errors", [])
    context.setdefault(
        "form",
        {
            "name": "",
            "kind": "vma-quarterly",
            "cron": "",
            "date": "",
            "time": "15:00",
            "grace": "60",
            "notice": _example_notice(),
            "allow": "",
        },
    )
    return render_admin(
        request,
        "exercises/new_schedule.html",
        principal,
        current="/exercises/schedules",
        **context,
    )


@router.get("/schedules/new", response_class=HTMLResponse)
def new_schedule_page(request: Request, principal: PageNoticesSend) -> HTMLResponse:
    """The form for a new schedule: the quarterly rule, a cron rule or one time."""
    return _new_page(request, principal)


def local_moment(date_text: str, time_text: str, timezone: str) -> datetime | None:
    """A date and a wall-clock time in the service's time zone; None when either is bad."""
    try:
        naive = datetime.fromisoformat(f"{date_text.strip()}T{time_text.strip()}")
    except ValueError:
        return None
    return None if naive.tzinfo else naive.replace(tzinfo=ZoneInfo(timezone))


def _schedule_errors(problems: list[str]) -> Errors:
    fields = {"name": "name", "rule": "kind", "at": "date", "grace": "grace"}
    return [
        form_error(fields.get(p.split(":", 1)[0].split(".", 1)[0], "notice"), "service", p)
        for p in problems
    ]


@router.post("/schedules", response_model=None)
async def add_schedule(
    request: Request, principal: PageNoticesSend, session: SessionDep, library: LibraryDep
) -> HTMLResponse | RedirectResponse:
    """Add a schedule: its notice must be an exercise or test alert that passes its checks."""
    settings = get_settings()
    form_in = await form_lists(request)
    form = {k: first(form_in, k, 300) for k in ("name", "kind", "cron", "date", "time", "grace")}
    form["notice"] = (form_in.get("notice") or [""])[0][:NOTICE_MAX]
    form["allow"] = first(form_in, "allow")
    errors: Errors = []
    rule = run_at = None
    if form["kind"] == "vma-quarterly":
        rule = "vma-quarterly"
    elif form["kind"] == "cron":
        rule = form["cron"]
        if not rule:
            errors.append(form_error("cron", "cron_missing"))
    else:
        run_at = local_moment(form["date"], form["time"], settings.timezone)
        if run_at is None:
            errors.append(form_error("date", "time_invalid"))
    grace = None
    if form["grace"]:
        if form["grace"].isdigit():
            grace = int(form["grace"]) * 60
        else:
            errors.append(form_error("grace", "grace_invalid"))
    try:
        raw = json.loads(form["notice"])
        if not isinstance(raw, dict):
            raise ValueError("the notice must be a JSON object")
    except ValueError as exc:
        errors.append(form_error("notice", "notice_json", str(exc)))
        raw = None
    if not errors and raw is not None:
        new = service.NewSchedule(
            form["name"], raw, rule, run_at, grace, allow_failed_checks=form["allow"] == "1"
        )
        try:
            created = service.add_schedule(
                session, library, settings, new, actor=principal.actor, source=principal.source
            )
        except service.ScheduleInvalid as exc:
            errors = _schedule_errors(exc.problems)
        except service.ChecksFailed as exc:
            errors = [form_error("allow", "checks_failed", f) for f in exc.failures]
        else:
            target = f"/exercises/schedules?done=added#schedule-{created.id}"
            return RedirectResponse(with_language(target, page_language(request)), 303)
    return _new_page(request, principal, status_code=400, errors=errors, form=form)


def _schedule(session: Session, schedule_id: int) -> ScheduleRecord:
    schedule = session.get(ScheduleRecord, schedule_id)
    if schedule is None:
        raise HTTPException(404, f"no schedule has the id {schedule_id}")
    return schedule


def back_to_schedules(request: Request, done: str, anchor: str = "") -> RedirectResponse:
    """Back to the Schedules page after a change, saying what was `done` (POST, redirect, GET)."""
    target = with_language(f"/exercises/schedules?done={done}", page_language(request))
    return RedirectResponse(target + (f"#{anchor}" if anchor else ""), status_code=303)


@router.post("/schedules/{schedule_id}/pause")
def pause_schedule(
    request: Request, schedule_id: int, principal: PageNoticesSend, session: SessionDep
) -> RedirectResponse:
    """Stop the schedule firing until it is resumed."""
    changed = service.pause_schedule(
        session, _schedule(session, schedule_id), actor=principal.actor, source=principal.source
    )
    return back_to_schedules(request, "paused" if changed else "unchanged")


@router.post("/schedules/{schedule_id}/resume")
def resume_schedule(
    request: Request, schedule_id: int, principal: PageNoticesSend, session: SessionDep
) -> RedirectResponse:
    """Fire again from now on (a rule skips the times that passed while paused)."""
    changed = service.resume_schedule(
        session,
        _schedule(session, schedule_id),
        get_settings(),
        actor=principal.actor,
        source=principal.source,
    )
    return back_to_schedules(request, "resumed" if changed else "unchanged")


@router.post("/schedules/{schedule_id}/remove")
def remove_schedule(
    request: Request, schedule_id: int, principal: PageNoticesSend, session: SessionDep
) -> RedirectResponse:
    """Stop the schedule for good (its firings stay for the reports)."""
    changed = service.remove_schedule(
        session, _schedule(session, schedule_id), actor=principal.actor, source=principal.source
    )
    return back_to_schedules(request, "removed" if changed else "unchanged")
