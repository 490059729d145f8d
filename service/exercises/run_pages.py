"""Scripted exercises on the Schedules page: start, pause, resume, move, cancel.

A run starts in real time or compressed (x10, x60); moving it keeps the gaps between its
injects. Every action needs notices:send, as sending does.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session

from service.accounts.admin_render import first, form_lists
from service.accounts.page_permissions import PageNoticesSend
from service.accounts.principal import Principal
from service.api.deps import LibraryDep, SessionDep
from service.config import get_settings
from service.exercises import runs as run_service
from service.exercises.models import ExerciseRunRecord
from service.exercises.pages import (
    SPEEDS,
    Errors,
    back_to_schedules,
    form_error,
    local_moment,
    schedules_response,
)
from service.exercises.scripts import ScriptInvalid, load_script, parse_duration, shipped_scripts

router = APIRouter(prefix="/exercises", include_in_schema=False)


@router.post("/runs", response_model=None)
async def start_run(
    request: Request, principal: PageNoticesSend, session: SessionDep, library: LibraryDep
) -> HTMLResponse | RedirectResponse:
    """Start a shipped exercise script in real time or compressed (x10, x60)."""
    settings = get_settings()
    form_in = await form_lists(request)
    form = {k: first(form_in, k, 100) for k in ("script", "speed", "date", "time")}
    errors: Errors = []
    if form["script"] not in shipped_scripts():
        errors.append(form_error("script", "script_unknown"))
    speed = int(form["speed"]) if form["speed"].isdigit() else 0
    if speed not in SPEEDS:
        errors.append(form_error("speed", "speed_invalid"))
    start_at = None
    if form["date"] or form["time"]:
        start_at = local_moment(form["date"], form["time"], settings.timezone)
        if start_at is None:
            errors.append(form_error("run-date", "time_invalid"))
    if not errors:
        try:
            script = load_script(form["script"], library)
            run_service.start_run(
                session,
                script,
                settings,
                start_at=start_at,
                speed=speed,
                actor=principal.actor,
                source=principal.source,
            )
        except ScriptInvalid as exc:
            errors = [form_error("script", "service", p) for p in exc.problems]
        except run_service.RunInvalid as exc:
            errors = [form_error("run-date", "service", str(exc))]
        else:
            return back_to_schedules(request, "started")
    return schedules_response(
        request, session, principal, status_code=400, errors=errors, run_form=form
    )


def _run(session: Session, run_id: int) -> ExerciseRunRecord:
    run = session.get(ExerciseRunRecord, run_id)
    if run is None:
        raise HTTPException(404, f"no exercise run has the id {run_id}")
    return run


@router.post("/runs/{run_id}/{action}", response_model=None)
async def change_run(
    request: Request, run_id: int, action: str, principal: PageNoticesSend, session: SessionDep
) -> HTMLResponse | RedirectResponse:
    """Pause, resume, cancel, or move a run (a new T+0 or a shift, keeping the gaps)."""
    run = _run(session, run_id)
    who = principal
    try:
        if action == "pause":
            changed = run_service.pause_run(session, run, actor=who.actor, source=who.source)
        elif action == "resume":
            changed = run_service.resume_run(session, run, actor=who.actor, source=who.source)
        elif action == "cancel":
            changed = run_service.cancel_run(session, run, actor=who.actor, source=who.source)
        elif action == "move":
            await _move(request, session, run, who)
            changed = True
        else:
            raise HTTPException(404, f"an exercise run has no action {action!r}")
    except _FormProblem as problem:
        errors = [problem.error]
    except run_service.RunInvalid as exc:
        errors = [form_error(f"move-to-{run_id}", "service", str(exc))]
    else:
        return back_to_schedules(request, f"run-{action}" if changed else "unchanged")
    session.rollback()
    return schedules_response(request, session, principal, status_code=400, errors=errors)


class _FormProblem(ValueError):
    def __init__(self, error: dict[str, Any]) -> None:
        self.error = error
        super().__init__(error["code"])


async def _move(request: Request, session: Session, run: ExerciseRunRecord, who: Principal) -> None:
    form = await form_lists(request)
    date_text, time_text, shift = (first(form, k, 40) for k in ("date", "time", "shift"))
    if bool(date_text or time_text) == bool(shift):
        raise _FormProblem(form_error(f"move-to-{run.id}", "move_missing"))
    if shift:
        try:
            by = parse_duration(shift, signed=True)
        except ValueError:
            raise _FormProblem(form_error(f"move-by-{run.id}", "shift_invalid")) from None
        run_service.move_run(session, run, by=by, actor=who.actor, source=who.source)
        return
    to = local_moment(date_text, time_text, get_settings().timezone)
    if to is None:
        raise _FormProblem(form_error(f"move-to-{run.id}", "time_invalid"))
    run_service.move_run(session, run, to=to, actor=who.actor, source=who.source)
